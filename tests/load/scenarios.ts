/**
 * Load and soak scenarios against a proxy in server mode (server-everything as the child),
 * shared by the CI test (tests/e2e/server_load_test.ts, reduced) and `deno task load` (full size).
 * @module
 */
import { type Client, connectClient } from "../support/mcp_client.ts";
import { INITIALIZE, post, SseReader } from "../support/raw_http.ts";
import type { ServedProxy } from "../support/server_proxy.ts";

/** What a call run counted. */
export interface CallLoadResult {
  /** Calls answered with their own echo. */
  ok: number;
  /** Calls that failed or timed out (never answered). */
  lost: number;
  /** Calls answered with another call's echo. */
  misrouted: number;
  /** Responses the clients could not match to a request of theirs (duplicates, strays). */
  unmatched: number;
  /** Wall time of the run, in milliseconds. */
  ms: number;
}

/** One session's calls, `inFlight` at a time, each echoing a text unique to it. */
async function sessionCalls(
  client: Client,
  label: string,
  calls: number,
  inFlight: number,
  counts: CallLoadResult,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      const message = `${label}/${next++}`;
      try {
        const result = await client.callTool({ name: "echo", arguments: { message } });
        const text = (result.content as { text?: string }[])[0]?.text;
        if (text === `Echo: ${message}`) counts.ok++;
        else counts.misrouted++;
      } catch {
        counts.lost++;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/**
 * `sessions` SDK clients at once, alternately on `/mcp` and `/sse`, each making `calls` echo
 * calls (`inFlight` of them at a time); every answer is checked against its call.
 */
export async function callLoad(
  proxy: ServedProxy,
  sessions: number,
  calls: number,
  inFlight = 4,
): Promise<CallLoadResult> {
  const counts: CallLoadResult = { ok: 0, lost: 0, misrouted: 0, unmatched: 0, ms: 0 };
  const started = performance.now();
  const clients = await Promise.all(Array.from({ length: sessions }, async (_, i) => {
    const kind = i % 2 === 0 ? "mcp" : "sse";
    const client = await connectClient(proxy[kind].default, kind, { name: `load-${i}` });
    // The SDK reports a response whose id it has no request for as an error.
    client.onerror = (error) => {
      if (/unknown message ID/i.test(error.message)) counts.unmatched++;
    };
    return client;
  }));
  try {
    await Promise.all(
      clients.map((client, i) => sessionCalls(client, `s${i}`, calls, inFlight, counts)),
    );
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
  counts.ms = Math.round(performance.now() - started);
  return counts;
}

/**
 * The environment of the proxy under soak: V8 grows its heap lazily (with default flags the RSS
 * grows ~70% over 10,000 sessions, then levels off), so the old space is capped to make RSS
 * track live memory, and so is the young generation, whose semi-spaces otherwise grow by steps
 * of several MiB at moments of V8's choosing (seen: 1,000 sessions measured 12–14 % growth with
 * it capped, 14–18 % and once 20.5 % without). A leak then shows as growth, or as an
 * out-of-memory exit.
 */
export const SOAK_PROXY_ENV: Readonly<Record<string, string>> = {
  DENO_V8_FLAGS: "--max-old-space-size=32,--max-semi-space-size=1",
};

/** The resident set size of process `pid`, in KiB (Linux `/proc`). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = status.match(/^VmRSS:\s+(\d+) kB$/m);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

/** One Streamable HTTP session: initialize, then DELETE. */
async function mcpSession(url: string): Promise<void> {
  const init = await post(url, INITIALIZE);
  await init.body?.cancel();
  const id = init.headers.get("mcp-session-id");
  if (init.status !== 200 || !id) throw new Error(`initialize answered ${init.status}`);
  const end = await fetch(url, { method: "DELETE", headers: { "mcp-session-id": id } });
  await end.body?.cancel();
}

/** One legacy SSE session: open, initialize, read the answer, hang up. */
async function sseSession(url: string): Promise<void> {
  const events = new SseReader((await fetch(url)).body!);
  try {
    const messages = new URL((await events.next())!.data, url).href;
    const accepted = await post(messages, INITIALIZE);
    await accepted.body?.cancel();
    if ((await events.nextMessage()).id !== INITIALIZE.id) throw new Error("wrong answer");
  } finally {
    await events.cancel();
  }
}

/** What a soak run measured. */
export interface SoakResult {
  /** Proxy RSS after the first `checkpoint` sessions, KiB. */
  rssAtCheckpointKiB: number;
  /** Proxy RSS after all sessions, KiB. */
  rssAtEndKiB: number;
  /** `rssAtEnd / rssAtCheckpoint - 1`. */
  growth: number;
  sessions: number;
  ms: number;
}

/**
 * Opens and closes `total` sessions, `concurrency` at a time, alternately on `/mcp` and
 * `/sse`, and compares the proxy's RSS after the first `checkpoint` with the RSS at the end.
 */
export async function sessionSoak(
  proxy: ServedProxy,
  total: number,
  checkpoint: number,
  concurrency = 20,
): Promise<SoakResult> {
  const pid = proxy.process.child.pid;
  const started = performance.now();
  let opened = 0;
  const run = async (until: number) => {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (opened < until) {
        const n = opened++;
        await (n % 2 === 0 ? mcpSession(proxy.mcp.default) : sseSession(proxy.sse.default));
      }
    }));
    // Let closed streams and sessions be collected before measuring.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return await rssKiB(pid);
  };
  const rssAtCheckpointKiB = await run(checkpoint);
  const rssAtEndKiB = await run(total);
  return {
    rssAtCheckpointKiB,
    rssAtEndKiB,
    growth: rssAtEndKiB / rssAtCheckpointKiB - 1,
    sessions: opened,
    ms: Math.round(performance.now() - started),
  };
}

/** What an abandoned-sessions run measured. */
export interface AbandonedSessionsResult {
  /** Proxy RSS before the first session, KiB. */
  rssBeforeKiB: number;
  /**
   * Proxy RSS after each round of sessions and the pause after it, KiB. V8 keeps the pages it
   * grew into, so freed sessions show as later rounds that do not grow it further.
   */
  rssAfterRoundsKiB: number[];
  /** Whether the proxy still answered a new session's `initialize` at the end. */
  serving: boolean;
  sessions: number;
  ms: number;
}

/** Opens a Streamable HTTP session and walks away from it (no DELETE, no further request). */
async function abandonSession(url: string): Promise<void> {
  const init = await post(url, INITIALIZE);
  await init.body?.cancel();
  if (init.status !== 200) throw new Error(`initialize answered ${init.status}`);
}

/**
 * `rounds` rounds of `perRound` Streamable HTTP sessions opened (`concurrency` at a time) and
 * abandoned, each followed by a pause of `pauseMs`; measures the proxy's RSS before and after
 * each round.
 */
export async function abandonedSessions(
  proxy: ServedProxy,
  perRound: number,
  { rounds = 2, pauseMs = 5_000, concurrency = 20 } = {},
): Promise<AbandonedSessionsResult> {
  const pid = proxy.process.child.pid;
  const rssBeforeKiB = await rssKiB(pid);
  const rssAfterRoundsKiB: number[] = [];
  const started = performance.now();
  let opened = 0;
  let serving = true;
  try {
    for (let round = 1; round <= rounds; round++) {
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (opened < perRound * round) {
          opened++;
          await abandonSession(proxy.mcp.default);
        }
      }));
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      rssAfterRoundsKiB.push(await rssKiB(pid));
    }
    await abandonSession(proxy.mcp.default);
  } catch {
    // The proxy ran out of memory (or answers no more): that is the result.
    serving = false;
  }
  const ms = Math.round(performance.now() - started);
  return { rssBeforeKiB, rssAfterRoundsKiB, serving, sessions: opened, ms };
}
