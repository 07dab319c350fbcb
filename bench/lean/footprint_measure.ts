/**
 * The footprint bench's measurement of one run: spawn → the `initialize` answer, then
 * `notifications/initialized` and `tools/list`, the idle wait, and the RSS of the process and of
 * its whole tree (see footprint.ts).
 * @module
 */
import { descendants, freePort, readMemory, signal, sleep } from "../process.ts";
import {
  type Answer,
  INITIALIZE_PARAMS,
  POST_HEADERS,
  readAnswer,
  requestLine,
} from "./clients.ts";
import { LineSplitter } from "./lines.ts";

/** One run of one system. */
export interface FootprintSample {
  /** Spawn to the `initialize` answer, ms. */
  startupMs: number;
  /** RSS of the process and every descendant after the idle wait, MiB. */
  treeMb: number;
  /** RSS of the spawned process alone, MiB. */
  processMb: number;
}

/** How long a system may take to start or answer before the run fails. */
const TIMEOUT_MS = 60_000;
const MIB = 1024;

/** The RSS of `pid` alone and of its whole tree, KiB. */
function treeRss(pid: number): { tree: number; own: number } {
  const own = readMemory(pid)?.rssKb ?? NaN;
  const rest = descendants(pid).map((child) => readMemory(child)?.rssKb ?? 0);
  return { own, tree: own + rest.reduce((a, b) => a + b, 0) };
}

/** Rejects after `ms` with `what` timed out, unless `promise` settles first. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Throws unless `answer` is a `tools/list` result. */
function checkToolList(answer: Answer | undefined): void {
  const tools = (answer?.result as { tools?: unknown } | undefined)?.tools;
  if (!Array.isArray(tools)) {
    throw new Error(`tools/list: ${JSON.stringify(answer)?.slice(0, 200)}`);
  }
}

/** Stops a detached process group: SIGTERM, then SIGKILL to the group after `graceMs`. */
export async function stopGroup(child: Deno.ChildProcess, graceMs = 3_000): Promise<void> {
  signal(-child.pid, "SIGTERM");
  await Promise.race([child.status, sleep(graceMs)]);
  signal(-child.pid, "SIGKILL");
  await child.status;
}

/** Spawns `argv` in its own process group, its stdout and stderr piped. */
export function spawn(argv: string[], stdin: "piped" | "null"): Deno.ChildProcess {
  return new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin,
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
}

/** Collects a stream's text (the last 4 KB), for error messages. */
export function tail(stream: ReadableStream<Uint8Array>): { text(): string } {
  let text = "";
  (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text = (text + chunk).slice(-4096);
    }
  })().catch(() => {});
  return { text: () => text };
}

/** One client-mode run: initialize and tools/list on its stdio, idle, RSS. */
export async function measureClient(argv: string[], idleMs: number): Promise<FootprintSample> {
  const spawnedAt = performance.now();
  const child = spawn(argv, "piped");
  const stderr = tail(child.stderr);
  const waiting = new Map<number, (answer: Answer) => void>();
  const answers = (async () => {
    const splitter = new LineSplitter();
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      for (const line of splitter.push(text)) {
        if (!line.startsWith("{")) continue;
        const message = JSON.parse(line) as Answer;
        if (typeof message.id === "number") waiting.get(message.id)?.(message);
      }
    }
  })().catch(() => {});
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const request = async (id: number, method: string, params: unknown) => {
    const answered = new Promise<Answer>((resolve) => waiting.set(id, resolve));
    await writer.write(encoder.encode(requestLine(id, method, params) + "\n"));
    return await withTimeout(answered, TIMEOUT_MS, method);
  };
  try {
    const init = await request(0, "initialize", INITIALIZE_PARAMS);
    const startupMs = performance.now() - spawnedAt;
    if (init.result === undefined) throw new Error(`initialize: ${JSON.stringify(init)}`);
    const initialized = { jsonrpc: "2.0", method: "notifications/initialized" };
    await writer.write(encoder.encode(JSON.stringify(initialized) + "\n"));
    checkToolList(await request(1, "tools/list", {}));
    await sleep(idleMs);
    const { tree, own } = treeRss(child.pid);
    return { startupMs, treeMb: tree / MIB, processMb: own / MIB };
  } catch (error) {
    throw new Error(`${argv.join(" ")}: ${error}\n--- stderr ---\n${stderr.text()}`);
  } finally {
    await writer.close().catch(() => {});
    await stopGroup(child);
    await answers;
  }
}

/** POSTs one message to a Streamable HTTP endpoint; the answer when `id` is given. */
async function post(url: string, body: string, session?: string, id?: number) {
  const headers = session ? { ...POST_HEADERS, "mcp-session-id": session } : POST_HEADERS;
  const response = await fetch(url, { method: "POST", headers, body });
  if (id === undefined) {
    await response.body?.cancel();
    return { response };
  }
  return { response, answer: await readAnswer(response, id, "POST") };
}

/** One server-mode run: initialize (retried until it listens) and tools/list, idle, RSS. */
export async function measureServer(argv: string[], idleMs: number): Promise<FootprintSample> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const spawnedAt = performance.now();
  const child = spawn(argv.map((a) => a.replace("{port}", String(port))), "null");
  const output = tail(child.stderr);
  tail(child.stdout);
  try {
    let session: string | undefined, startupMs = NaN, last: unknown;
    while (Number.isNaN(startupMs)) {
      if (performance.now() - spawnedAt > TIMEOUT_MS) throw new Error(`no answer: ${last}`);
      try {
        const { response, answer } = await post(
          url,
          requestLine(0, "initialize", INITIALIZE_PARAMS),
          undefined,
          0,
        );
        if (answer?.result === undefined) throw new Error(JSON.stringify(answer));
        startupMs = performance.now() - spawnedAt;
        session = response.headers.get("mcp-session-id") ?? undefined;
      } catch (error) {
        last = error;
        await sleep(2);
      }
    }
    await post(
      url,
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      session,
    );
    checkToolList((await post(url, requestLine(1, "tools/list", {}), session, 1)).answer);
    await sleep(idleMs);
    const { tree, own } = treeRss(child.pid);
    return { startupMs, treeMb: tree / MIB, processMb: own / MIB };
  } catch (error) {
    throw new Error(`${argv.join(" ")}: ${error}\n--- stderr ---\n${output.text()}`);
  } finally {
    await stopGroup(child);
  }
}
