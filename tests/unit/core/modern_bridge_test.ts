/**
 * The modern bridge in process, over a fake shared server that records what its sessions
 * are sent: abandoned MRTR calls, cancellation, and the envelope and result rules.
 * @module
 */
import assert from "node:assert/strict";
import { getLogger } from "../../../src/io/log.ts";
import type { ClientSink, MuxSession } from "../../../src/core/types.ts";
import { ModernBridge } from "../../../src/core/modern_bridge.ts";
import { ParkedCalls } from "../../../src/core/parked_calls.ts";
import type { ModernPost } from "../../../src/protocol/http_classify.ts";
import { credentialOf, RequestStateSealer } from "../../../src/protocol/request_state.ts";
import { readEnvelope, stripEnvelope, withEnvelope } from "../../../src/protocol/envelope.ts";
import { legacyResult, modernError, modernResult } from "../../../src/protocol/results.ts";

type Message = Record<string, unknown>;
// deno-lint-ignore no-explicit-any -- the tests read fields of loosely typed messages
type Any = any;

/** A fake shared server: each session records what it receives and answers initialize. */
class FakeServer {
  readonly sessions: { received: Message[]; sink: ClientSink; closed: boolean }[] = [];

  openSession(sink: ClientSink): MuxSession {
    const session = { received: [] as Message[], sink, closed: false };
    this.sessions.push(session);
    return {
      receive: (incoming) => {
        const m = incoming.message as unknown as Message;
        session.received.push(m);
        if (m.method === "initialize") {
          sink.send({
            jsonrpc: "2.0",
            id: m.id,
            result: {
              protocolVersion: "2025-11-25",
              capabilities: {},
              serverInfo: { name: "fake", version: "1" },
            },
          } as never);
        }
      },
      close: () => {
        session.closed = true;
      },
    };
  }
}

const ENVELOPE = readEnvelope({
  _meta: {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
  },
});

function post(id: number, params: Message = {}): ModernPost {
  return {
    era: "modern",
    request: { jsonrpc: "2.0", id, method: "tools/call", params: { name: "t", ...params } },
    envelope: ENVELOPE as never,
  };
}

const VERSIONS = ["2026-07-28", "2025-11-25"];

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `done()` holds, for at most `ms` (a loaded machine stretches every timer). */
async function until(done: () => boolean, ms = 2_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) await wait(5);
}

Deno.test("an abandoned MRTR call is cancelled (its session closed) and freed after the park timeout", async () => {
  const server = new FakeServer();
  const bridge = new ModernBridge(server, {
    log: getLogger("test"),
    legacyVersion: "2025-11-25",
    supportedVersions: VERSIONS,
    parkTimeoutMs: 50,
    gatherMs: 1,
  });
  const replies: Any[] = [];
  const call = bridge.serve(post(1), { send: (m) => replies.push(m) });
  const session = server.sessions[0];
  // The child asks the client for input while the call runs.
  session.sink.send({ jsonrpc: "2.0", id: 900, method: "elicitation/create", params: {} } as never);
  await until(() => replies.length > 0);
  assert.equal((replies[0].result as Message).resultType, "input_required");
  call.close(); // the POST ended with the input_required answer: the call stays parked
  assert.equal(session.closed, false);
  assert.equal(bridge.parkedCount, 1);
  await until(() => session.closed);
  assert.equal(session.closed, true, "the multiplexer session (and so the child's call) ended");
  assert.equal(bridge.parkedCount, 0);
});

Deno.test("a client that leaves a running call cancels it; a finished call closes its session", () => {
  const server = new FakeServer();
  const bridge = new ModernBridge(server, {
    log: getLogger("test"),
    legacyVersion: "2025-11-25",
    supportedVersions: VERSIONS,
  });
  const replies: Any[] = [];
  bridge.serve(post(1), { send: (m) => replies.push(m) }).close();
  assert.equal(server.sessions[0].closed, true);
  bridge.serve(post(2), { send: (m) => replies.push(m) });
  const second = server.sessions[1];
  second.sink.send({ jsonrpc: "2.0", id: 2, result: { content: [] } } as never);
  assert.equal(second.closed, true);
  assert.deepEqual(replies.at(-1), {
    jsonrpc: "2.0",
    id: 2,
    result: {
      content: [],
      resultType: "complete",
      _meta: { "io.modelcontextprotocol/serverInfo": { name: "fake", version: "1" } },
    },
  });
  // The envelope does not reach the legacy child; the request's own _meta keys do.
  const forwarded = second.received.find((m) => m.method === "tools/call")!;
  assert.deepEqual(forwarded.params, { name: "t" });
});

Deno.test("requestState: opens what it sealed for its client; refuses altered, expired, foreign or another client's states", async () => {
  let now = 1_000;
  const sealer = new RequestStateSealer(() => now);
  const ref = { parkedId: "p1", method: "tools/call", round: 2 };
  const alice = credentialOf(new Headers({ authorization: "Bearer alice" }));
  const bob = credentialOf(new Headers({ authorization: "Bearer bob" }));
  const nobody = credentialOf(new Headers());
  assert.notEqual(alice, bob);
  assert.notEqual(alice, nobody);
  assert.doesNotMatch(alice, /alice/);
  const state = await sealer.seal(ref, alice, 100);
  assert.deepEqual(await sealer.open(state, alice), ref);
  assert.equal(await sealer.open(state, bob), undefined);
  assert.equal(await sealer.open(state, nobody), undefined);
  assert.equal(
    await sealer.open(state.slice(0, -1) + (state.endsWith("A") ? "B" : "A"), alice),
    undefined,
  );
  assert.equal(await new RequestStateSealer(() => now).open(state, alice), undefined);
  assert.equal(await sealer.open("not a state", alice), undefined);
  now = 2_000;
  assert.equal(await sealer.open(state, alice), undefined);
});

Deno.test("envelope: read, stripped for a legacy peer (other _meta kept), added for a modern one", () => {
  assert.deepEqual(readEnvelope({}), { key: "_meta", problem: "missing" });
  assert.deepEqual(
    readEnvelope({ _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } }),
    { key: "io.modelcontextprotocol/clientCapabilities", problem: "missing" },
  );
  const params = {
    name: "t",
    _meta: {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": {},
      progressToken: 5,
    },
  };
  assert.deepEqual(stripEnvelope(params), { name: "t", _meta: { progressToken: 5 } });
  const envelope = readEnvelope(params);
  assert.ok(!("problem" in envelope));
  const { progressToken: _, ...envelopeKeys } = params._meta;
  assert.deepEqual(withEnvelope({ name: "t" }, envelope), { name: "t", _meta: envelopeKeys });
});

Deno.test("results: modern decoration and its inverse; resource-not-found becomes -32602", () => {
  const info = { name: "s", version: "1" };
  const modern = modernResult("tools/list", { tools: [] }, info);
  assert.deepEqual(modern, {
    tools: [],
    resultType: "complete",
    ttlMs: 0,
    cacheScope: "private",
    _meta: { "io.modelcontextprotocol/serverInfo": info },
  });
  assert.deepEqual(legacyResult(modern), { tools: [] });
  assert.deepEqual(modernError({ code: -32002, message: "x" }), { code: -32602, message: "x" });
});

Deno.test("calls in a multi round-trip are capped per client and in all; an ended call frees its place", async () => {
  const server = new FakeServer();
  const bridge = new ModernBridge(server, {
    log: getLogger("test"),
    legacyVersion: "2025-11-25",
    supportedVersions: VERSIONS,
    gatherMs: 1,
    parkedCalls: new ParkedCalls(2, 3),
  });
  const asking = (id: number, key: string) => {
    const replies: Any[] = [];
    const headers = new Headers({ "x-api-key": key });
    const call = bridge.serve({ ...post(id), headers }, { send: (m) => replies.push(m) });
    server.sessions.at(-1)!.sink.send(
      { jsonrpc: "2.0", id: 900 + id, method: "elicitation/create", params: {} } as never,
    );
    return { call, replies, session: server.sessions.at(-1)! };
  };
  const answered = async (...calls: { replies: Any[] }[]) => {
    await until(() => calls.every(({ replies }) => replies.length > 0));
    return calls.map(({ replies }) => replies[0].result?.resultType ?? replies[0].error.message);
  };
  const a1 = asking(1, "a"), a2 = asking(2, "a"), a3 = asking(3, "a");
  const [first, second, third] = await answered(a1, a2, a3);
  assert.deepEqual([first, second], ["input_required", "input_required"]);
  assert.match(third, /this client already has 2 calls waiting for its input/);
  assert.equal(a3.session.closed, true, "a refused call ends at the child");
  const b1 = asking(4, "b"), b2 = asking(5, "b");
  const [fourth, fifth] = await answered(b1, b2);
  assert.equal(fourth, "input_required");
  assert.match(fifth, /3 calls are waiting for their clients' input, the most it keeps/);
  assert.equal(bridge.parkedCount, 3);
  // The child answers a1's call: its place is free for the next call of client a.
  a1.session.sink.send({ jsonrpc: "2.0", id: 1, result: { content: [] } } as never);
  const [again] = await answered(asking(6, "a"));
  assert.equal(again, "input_required");
});

Deno.test("a requestState opens its own round only: after the next round is asked, the old one is spent", async () => {
  const server = new FakeServer();
  const bridge = new ModernBridge(server, {
    log: getLogger("test"),
    legacyVersion: "2025-11-25",
    supportedVersions: VERSIONS,
    gatherMs: 1,
  });
  const replies: Any[] = [];
  const send = (m: Any) => replies.push(m);
  bridge.serve(post(1), { send });
  const session = server.sessions[0];
  session.sink.send({ jsonrpc: "2.0", id: 900, method: "elicitation/create", params: {} } as never);
  await until(() => replies.length === 1);
  const round1 = replies[0].result.requestState;
  // The retry answers round 1; the child asks again: round 2.
  bridge.serve(
    post(2, { requestState: round1, inputResponses: { "input-1": { action: "decline" } } }),
    {
      send,
    },
  );
  await until(() => session.received.some((m) => m.id === 900));
  session.sink.send({ jsonrpc: "2.0", id: 901, method: "elicitation/create", params: {} } as never);
  await until(() => replies.length === 2);
  assert.equal(replies[1].result.resultType, "input_required");
  bridge.serve(post(3, { requestState: round1, inputResponses: {} }), { send });
  await until(() => replies.length === 3);
  assert.deepEqual([replies[2].id, replies[2].error.code], [3, -32602]);
  bridge.serve(post(4, { requestState: replies[1].result.requestState, inputResponses: {} }), {
    send,
  });
  await until(() => replies.length === 4);
  assert.equal(replies[3].result.resultType, "input_required", "round 2's state still opens");
});
