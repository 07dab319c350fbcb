/**
 * What sessions and exchanges cost in memory, in process: the real application and multiplexer
 * (as `in_process.ts` sets them up), the heap measured after a full collection.
 *
 * - an idle Streamable HTTP session (`initialize`, then nothing) and an idle `/sse` session
 *   (its stream open, not read), per session with `--sessions` of them open;
 * - what `--churn` sessions opened and ended one after another leave behind (DELETE on `/mcp`,
 *   the stream cancelled on `/sse`), after as many of them as warm-up;
 * - a call in flight (`--sessions` calls the upstream never answers), per call.
 *
 * Run: `deno run -A --v8-flags=--expose-gc bench/lean/session_memory.ts [--sessions N]
 * [--churn N]`.
 * @module
 */
import { parseArgs } from "node:util";
import type { ProxyApp } from "../../src/server/app.ts";
import { ECHO_PARAMS, LEGACY_VERSION, POST_HEADERS, requestLine } from "./clients.ts";
import { echoServer, heapMiB, initialize, proxyApp } from "./in_process.ts";

const BASE = "http://127.0.0.1:8080";
const HOST = { host: "127.0.0.1:8080" };

/** The heap in use after a full collection, in bytes (needs `--expose-gc`). */
function heapBytes(): number {
  return heapMiB() * 1024 * 1024;
}

/** Opens an `/sse` session and returns its stream's reader (the endpoint event read). */
async function openSse(app: ProxyApp): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const response = await app.handle({ request: new Request(`${BASE}/sse`, { headers: HOST }) });
  const reader = response.body!.getReader();
  await reader.read();
  return reader;
}

/** Opens a Streamable HTTP session; returns its id (all the bench keeps of it). */
async function openMcp(app: ProxyApp): Promise<string> {
  return (await initialize(app)).get("mcp-session-id")!;
}

/** The headers of a request on session `id`. */
function sessionHeaders(id: string): Headers {
  return new Headers({
    ...HOST,
    ...POST_HEADERS,
    "mcp-session-id": id,
    "mcp-protocol-version": LEGACY_VERSION,
  });
}

/** Ends the Streamable HTTP session `id` with DELETE. */
async function deleteSession(app: ProxyApp, id: string): Promise<void> {
  const request = new Request(`${BASE}/mcp`, { method: "DELETE", headers: sessionHeaders(id) });
  await (await app.handle({ request })).body?.cancel();
}

/** Heap bytes per item of `open` (called `count` times, the items kept). */
async function perItem<T>(count: number, open: () => Promise<T>): Promise<[number, T[]]> {
  const before = heapBytes();
  const items: T[] = [];
  for (let i = 0; i < count; i++) items.push(await open());
  return [(heapBytes() - before) / count, items];
}

/**
 * Heap bytes left after `count` rounds of `round` (each opens and ends one session), measured
 * after as many rounds of warm-up: compiled code and caches grow for the first tens of thousands
 * of rounds (about 0.45 MiB in all), sessions must not.
 */
async function leftAfter(count: number, round: () => Promise<void>): Promise<number> {
  for (let i = 0; i < count; i++) await round();
  const before = heapBytes();
  for (let i = 0; i < count; i++) await round();
  return heapBytes() - before;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sessions: { type: "string", default: "2000" },
      churn: { type: "string", default: "10000" },
    },
  });
  if (!(globalThis as { gc?: unknown }).gc) {
    throw new Error("run with --v8-flags=--expose-gc: the figures need a full collection");
  }
  const sessions = Number(values.sessions);
  const churn = Number(values.churn);
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;

  const app = proxyApp(echoServer());
  await initialize(app); // warm-up
  const [httpIdle, ids] = await perItem(sessions, () => openMcp(app));
  console.log(`idle /mcp session: ${kib(httpIdle)} each (${sessions} open)`);
  for (const id of ids) await deleteSession(app, id);
  const [sseIdle, readers] = await perItem(sessions, () => openSse(app));
  console.log(`idle /sse session: ${kib(sseIdle)} each (${sessions} open)`);
  for (const reader of readers) await reader.cancel();

  const httpLeft = await leftAfter(
    churn,
    async () => await deleteSession(app, await openMcp(app)),
  );
  console.log(`left after ${churn} /mcp sessions opened and deleted: ${kib(httpLeft)}`);
  const sseLeft = await leftAfter(churn, async () => await (await openSse(app)).cancel());
  console.log(`left after ${churn} /sse sessions opened and cancelled: ${kib(sseLeft)}`);
  await app.close();

  // Calls the upstream never answers: what one exchange holds while it waits.
  const silent = proxyApp(echoServer(false));
  const session = sessionHeaders(await openMcp(silent));
  let id = 0;
  const [exchange] = await perItem(sessions, () => {
    const call = requestLine(++id, "tools/call", ECHO_PARAMS);
    // Not awaited: the answer never comes; the exchange is what is measured.
    silent.handle({
      request: new Request(`${BASE}/mcp`, { method: "POST", headers: session }),
      bodyText: call,
    });
    return Promise.resolve();
  });
  console.log(`call in flight on /mcp: ${kib(exchange)} each (${sessions} waiting)`);
  await silent.close();
}
