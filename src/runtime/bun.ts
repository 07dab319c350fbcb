/**
 * The {@linkcode Runtime} for Bun, used by the standalone executable that `bun build --compile`
 * makes from the bundle (`deno task build`).
 *
 * Nothing here touches `Bun` at module load: a Deno build carries this module (type checks,
 * the bundle) and never runs it.
 * The `Bun` global is typed locally (just the surface used below) so that type checking needs
 * no `@types/bun`.
 * @module
 */
import {
  type ChildExit,
  type ChildProcess,
  DEFAULT_HTTP_LIMITS,
  type HttpServer,
  type OsFamily,
  type Runtime,
  type ServeOptions,
  type Signal,
  type SpawnOptions,
} from "./types.ts";
import { killTree, type TreeSignals } from "./kill_tree.ts";
import { withParentDeathSignal } from "./parent_death.ts";
import { processExists } from "./process_exists.ts";
import { resolveWindowsCommand } from "./windows.ts";
import { createAsyncSlot } from "./async_slot.ts";

// Loaded when this module is, not imported above: a bundle (the releases are built from one)
// hoists a module's static imports of `node:` modules to its own top, where a Deno build would
// load them too, though it never runs this module (about 3 MiB of idle RSS in client mode).
const { statSync, write, writeSync } = await import("node:fs");
const { chmod, mkdir, rename, stat, unlink, writeFile } = await import("node:fs/promises");
const { createConnection } = await import("node:net");
const { default: process } = await import("node:process");
const { rootCertificates } = await import("node:tls");
const { isatty } = await import("node:tty");

/** Bun's incremental writer (a child's piped stdin, or stdout). */
interface FileSink {
  write(chunk: Uint8Array): number;
  flush(): number | Promise<number>;
  end(): number | Promise<number>;
}

/** The part of a `Bun.spawn` subprocess used here. */
interface Subprocess {
  readonly pid: number;
  readonly stdin: FileSink;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<number>;
  readonly exitCode: number | null;
  readonly signalCode: string | null;
}

/** The part of a `Bun.serve` server used here. */
interface BunServer {
  readonly port: number;
  /** Sets the idle timeout of the connection carrying `request` (0: none). */
  timeout(request: Request, seconds: number): void;
  stop(closeActiveConnections: boolean): Promise<void>;
}

/** The part of the `Bun` global used here. */
interface BunGlobal {
  spawn(options: {
    cmd: string[];
    env: Record<string, string>;
    cwd?: string;
    stdin: "pipe";
    stdout: "pipe";
    stderr: "pipe";
    detached: boolean;
  }): Subprocess;
  serve(options: {
    hostname: string;
    port: number;
    idleTimeout: number;
    development: boolean;
    reusePort: boolean;
    fetch(request: Request, server: BunServer): Response | Promise<Response>;
  }): BunServer;
  readonly stdin: { stream(): ReadableStream<Uint8Array> };
  readonly stdout: { writer(): FileSink };
  file(path: string): { text(): Promise<string> };
}

/** A `fetch` init with Bun's per-request TLS settings. */
type BunFetchInit = RequestInit & { tls?: { rejectUnauthorized?: boolean; ca?: string[] } };

/** Deno's error names for the Node error codes Bun uses (see {@linkcode Runtime}). */
const DENO_ERROR_NAMES: Record<string, string> = {
  ENOENT: "NotFound",
  EACCES: "PermissionDenied",
  EPERM: "PermissionDenied",
  EISDIR: "IsADirectory",
  ENOTDIR: "NotADirectory",
  EEXIST: "AlreadyExists",
};

/** Renames a Bun error the way Deno names it, so that callers can test `error.name`. */
function withDenoName(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && typeof code === "string" && code in DENO_ERROR_NAMES) {
    error.name = DENO_ERROR_NAMES[code];
  }
  return error;
}

function bun(): BunGlobal {
  return (globalThis as unknown as { Bun: BunGlobal }).Bun;
}

function hostOs(): OsFamily {
  return process.platform === "win32" ? "windows" : "posix";
}

/** A web `WritableStream` over a Bun `FileSink`; each write resolves once the bytes are flushed. */
function sinkStream(sink: FileSink): WritableStream<Uint8Array> {
  return new WritableStream({
    async write(chunk) {
      sink.write(chunk);
      await sink.flush();
    },
    async close() {
      await sink.end();
    },
    async abort() {
      await sink.end();
    },
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Memoises `make`: like Deno.stdin.readable and Deno.stdout.writable, one stream per process. */
function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => value ??= make();
}

function isExecutable(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isFile() && (stat.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** How Bun runs `taskkill` and signals a process group. */
const bunTreeSignals: TreeSignals = {
  taskkill(pid) {
    bun().spawn({
      cmd: ["taskkill", "/T", "/F", "/PID", String(pid)],
      env: process.env as Record<string, string>,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      detached: false,
    });
  },
  signalGroup: (pid, signal) => process.kill(-pid, signal),
};

function spawn(options: SpawnOptions): ChildProcess {
  const { command, args } = hostOs() === "windows"
    ? resolveWindowsCommand(options.command, options.args, options.env, isFile)
    : withParentDeathSignal(options.command, options.args, options.env, {
      linux: process.platform === "linux",
      isExecutable,
    });
  let child: Subprocess;
  try {
    child = bun().spawn({
      cmd: [command, ...args],
      env: options.env,
      cwd: options.cwd,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      // setsid(): a process group of its own, so the whole tree can be signalled at once.
      detached: hostOs() === "posix",
    });
  } catch (error) {
    throw withDenoName(error);
  }
  let done = false;
  const exited: Promise<ChildExit> = child.exited.then(() => {
    done = true;
    return { code: child.signalCode ? null : child.exitCode, signal: child.signalCode };
  });
  return {
    pid: child.pid,
    stdin: sinkStream(child.stdin),
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    killTree: (signal: Signal) => killTree(hostOs(), child.pid, signal, done, bunTreeSignals),
  };
}

/** Runs a file operation, its errors named the way Deno names them. */
async function withDenoNames<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw withDenoName(error);
  }
}

async function writeTextFile(
  path: string,
  text: string,
  options: { mode: number; createNew?: boolean },
): Promise<void> {
  await writeFile(path, text, { mode: options.mode, flag: options.createNew ? "wx" : "w" });
  // The mode given when creating is filtered by the umask.
  await chmod(path, options.mode);
}

/** Bun's largest idle timeout, in seconds. */
const BUN_MAX_IDLE_SECONDS = 255;

/**
 * Bun has one idle timeout per connection (no bytes either way) instead of separate header,
 * body and keep-alive timeouts: the header timeout, within Bun's range, which also bounds a
 * stalled body and an idle keep-alive. Event streams are exempt, since a quiet stream is idle by
 * design. Bun has no connection cap. It speaks HTTP/1.1 only: a client that opens with the HTTP/2
 * preface (h2c) gets a protocol error, so each connection carries one exchange at a time.
 */
function serve(options: ServeOptions): Promise<HttpServer> {
  const limits = options.limits ?? DEFAULT_HTTP_LIMITS;
  const idleSeconds = Math.ceil(limits.headersTimeoutMs / 1000);
  const server = bun().serve({
    hostname: options.hostname,
    port: options.port,
    idleTimeout: Math.min(BUN_MAX_IDLE_SECONDS, Math.max(1, idleSeconds)),
    // No error pages with stack traces: a throwing handler gets a bare 500, as under Deno.
    development: false,
    // Outside development mode Bun sets SO_REUSEPORT unless told not to: a second instance on a
    // port already held would bind it too and take half its connections. Refused, as under Deno
    // (Bun's EADDRINUSE: "Failed to start server. Is port N in use?").
    reusePort: false,
    fetch: async (request, srv) => {
      const response = await options.handler({ request });
      if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
        srv.timeout(request, 0);
      }
      return response;
    },
  });
  return Promise.resolve({
    port: server.port,
    // Gracefully first: the answers handed over just before (the error answers of the last
    // calls) are written; then whatever is still open (a stream passed through) is cut.
    shutdown: async () => {
      await Promise.race([
        server.stop(false),
        new Promise((resolve) => setTimeout(resolve, 1_000)),
      ]);
      await server.stop(true);
    },
  });
}

/** The Bun implementation of {@linkcode Runtime}. */
export const bunRuntime: Runtime = {
  get os() {
    return hostOs();
  },
  platform: process.platform,
  pid: process.pid,
  processExists,
  // argv is [bun, script, ...args], also in a compiled executable.
  args: () => process.argv.slice(2),
  getEnv: (name) => process.env[name],
  envObject: () => ({ ...process.env }) as Record<string, string>,
  exit: (code) => process.exit(code),
  stdoutIsTerminal: () => isatty(1),
  writeStderr(text) {
    const bytes = new TextEncoder().encode(text);
    let written = 0;
    while (written < bytes.length) written += writeSync(2, bytes.subarray(written));
  },
  writeStderrAsync: (bytes) =>
    new Promise((resolve, reject) =>
      write(2, bytes, (error, written) => error ? reject(error) : resolve(written))
    ),
  stdin: once(() => bun().stdin.stream()),
  stdout: once(() => sinkStream(bun().stdout.writer())),
  readTextFile: (path) => withDenoNames(bun().file(path).text()),
  writeTextFile: (path, text, options) => withDenoNames(writeTextFile(path, text, options)),
  makeDirectory: (path, mode) =>
    withDenoNames(mkdir(path, { recursive: true, mode }).then(() => {})),
  rename: (from, to) => withDenoNames(rename(from, to)),
  removeFile: (path) => withDenoNames(unlink(path)),
  modifiedAt: (path) => withDenoNames(stat(path).then((info) => info.mtimeMs)),
  spawn,
  serve,
  onSignal(signal, handler) {
    // As under Deno: on Windows only SIGINT is listened for.
    if (hostOs() === "windows" && signal !== "SIGINT") return () => {};
    process.on(signal, handler);
    return () => process.off(signal, handler);
  },
  // Bun allocates with mimalloc, which returns freed memory by itself.
  releaseFreedMemory: () => {},
  afterIo: (callback) => void setImmediate(callback),
  createAsyncSlot,
  containUncaughtErrors(report) {
    process.on("uncaughtException", report);
    process.on("unhandledRejection", report);
  },
  connectionProblem(hostname, port, timeoutMs) {
    return new Promise((resolve) => {
      const socket = createConnection({ host: hostname, port });
      const done = (problem: string | undefined) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(problem);
      };
      const timer = setTimeout(() => done(`no connection within ${timeoutMs / 1000} s`), timeoutMs);
      socket.once("connect", () => done(undefined));
      socket.once("error", (error) => done(error.message));
    });
  },
  fetchWithTls(tls) {
    // Bun's `ca` replaces the trusted roots; Deno's `caCerts` adds to them: keep Deno's meaning.
    const settings = {
      rejectUnauthorized: !tls.insecure,
      ca: tls.caCerts ? [...rootCertificates, ...tls.caCerts] : undefined,
    };
    return (input, init) => fetch(input, { ...init, tls: settings } as BunFetchInit);
  },
};
