/**
 * The load generator: SDK `Client`s, each calling `tools/call` `echo` in a closed loop
 * (one call in flight per client, as an interactive client does), for a warm-up and then a
 * measured window of fixed duration.
 * @module
 */
import { Client, type Transport } from "./deps.ts";

/** Makes a fresh client transport (each client gets its own session or process). */
export type TransportFactory = () => Transport;

/** One connected client. */
export interface Session {
  /** The SDK client. */
  readonly client: Client;
  /** Its transport. */
  readonly transport: Transport;
}

/** How long to run. */
export interface LoadOptions {
  /** Calls before the measured window, not counted (JIT warm-up, connection pools). */
  warmupMs: number;
  /** Length of the measured window. */
  durationMs: number;
  /** Per-call timeout. */
  callTimeoutMs?: number;
  /** Called when the measured window opens (start CPU counters, a profiler). */
  onWindowStart?: () => void | Promise<void>;
  /** Called when the measured window closes. */
  onWindowEnd?: () => void | Promise<void>;
}

/** What a load run measured, over the measured window only. */
export interface LoadResult {
  /** Concurrent clients. */
  clients: number;
  /** Successful calls completed inside the window. */
  calls: number;
  /** Failed calls (errors, timeouts, wrong results) completed inside the window. */
  errors: number;
  /** Window length in seconds. */
  seconds: number;
  /** Successful calls per second. */
  callsPerSecond: number;
  /** Median latency, ms. */
  p50Ms: number;
  /** 99th-percentile latency, ms. */
  p99Ms: number;
  /** The first error seen, if any. */
  firstError?: string;
}

/** The call every client makes: the everything server's `echo` tool. */
export const ECHO_CALL = { name: "echo", arguments: { message: "hello" } } as const;
const ECHO_TEXT = "Echo: hello";

/** Connects an SDK client (sends `initialize`, awaits its result, sends `initialized`). */
export async function connect(factory: TransportFactory, timeoutMs = 30_000): Promise<Session> {
  const transport = factory();
  const client = new Client({ name: "mcp-proxy-bench", version: "0.1.0" });
  await client.connect(transport, { timeout: timeoutMs });
  return { client, transport };
}

/** Connects `count` clients one after another (as clients arrive in practice). */
export async function connectAll(factory: TransportFactory, count: number): Promise<Session[]> {
  const sessions: Session[] = [];
  try {
    for (let i = 0; i < count; i++) sessions.push(await connect(factory));
  } catch (error) {
    await closeAll(sessions);
    throw error;
  }
  return sessions;
}

/** Closes clients, ignoring errors (a transport may already be gone). */
export async function closeAll(sessions: Session[]): Promise<void> {
  await Promise.allSettled(sessions.map((s) => s.client.close()));
}

/** One `echo` call; throws unless the result is the expected text. */
export async function echo(client: Client, timeoutMs = 10_000): Promise<void> {
  const result = await client.callTool(ECHO_CALL, undefined, { timeout: timeoutMs });
  const content = result.content as Array<{ type: string; text?: string }> | undefined;
  if (result.isError || content?.[0]?.text !== ECHO_TEXT) {
    throw new Error(`unexpected echo result: ${JSON.stringify(result).slice(0, 200)}`);
  }
}

/**
 * Runs every session in a closed loop for `warmupMs + durationMs`; counts the calls that
 * complete inside the measured window and their latencies.
 */
export function runLoad(sessions: Session[], options: LoadOptions): Promise<LoadResult> {
  return runClosedLoop(
    sessions.map(({ client }) => () => echo(client, options.callTimeoutMs)),
    options,
  );
}

/**
 * Runs each slot's `call` in a closed loop (one call in flight per slot) for
 * `warmupMs + durationMs`; counts the calls that complete inside the measured window and their
 * latencies. A call fails by throwing.
 */
export async function runClosedLoop(
  slots: Array<() => Promise<unknown>>,
  options: LoadOptions,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const begin = performance.now();
  const windowStart = begin + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  const hooks = [
    atTime(windowStart, options.onWindowStart),
    atTime(windowEnd, options.onWindowEnd),
  ];

  await Promise.all(slots.map(async (call) => {
    while (performance.now() < windowEnd) {
      const start = performance.now();
      let failure: unknown;
      try {
        await call();
      } catch (error) {
        failure = error;
      }
      const end = performance.now();
      const counted = end >= windowStart && end <= windowEnd;
      if (failure === undefined) {
        if (counted) latencies.push(end - start);
        continue;
      }
      if (counted) errors++;
      firstError ??= String(failure);
      await new Promise((resolve) => setTimeout(resolve, 10)); // no hot loop on a dead server
    }
  }));
  await Promise.all(hooks);

  const seconds = options.durationMs / 1000;
  return {
    clients: slots.length,
    calls: latencies.length,
    errors,
    seconds,
    callsPerSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    firstError,
  };
}

/** Runs `callback` at `performance.now() === at` (or now, if that has passed). */
function atTime(at: number, callback?: () => void | Promise<void>): Promise<void> {
  if (!callback) return Promise.resolve();
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      Promise.resolve().then(callback).then(resolve, reject);
    }, Math.max(0, at - performance.now()));
  });
}

/** The `q` quantile (0..1) of `values` by nearest rank; `NaN` when empty. */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Time from starting a client transport (for stdio: spawning the process) to the
 * `initialize` result, in ms; the client is closed afterwards.
 */
export async function timeToInitialize(factory: TransportFactory): Promise<number> {
  const start = performance.now();
  const session = await connect(factory);
  const elapsed = performance.now() - start;
  await closeAll([session]);
  return elapsed;
}
