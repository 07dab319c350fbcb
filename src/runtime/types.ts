/**
 * The runtime boundary: everything mcp-proxy needs from Deno (or Bun), and nothing more.
 *
 * The rest of the program is web-standard TypeScript that reaches the host only through the
 * {@linkcode Runtime} that `runtime/mod.ts` exports as `runtime`: code imports that one value
 * (functions handed a `Runtime` parameter are handed it), so that there is one way in. Outside
 * `src/runtime/`, no code names `Deno`, `Bun` or `process`, and the only `node:` modules are two
 * that do no I/O and that Deno and Bun both implement alike: `node:crypto` for `createHash` and
 * `timingSafeEqual` (synchronous, where Web Crypto's digest is not) and `randomBytes`, and
 * `node:path` for `dirname` and `join` (string functions). Everything that touches files,
 * processes, the environment or the network goes through {@linkcode Runtime}.
 * @module
 */

/** Operating-system family, as far as mcp-proxy cares. */
export type OsFamily = "posix" | "windows";

/** Signals mcp-proxy listens for or sends. */
export type Signal = "SIGINT" | "SIGTERM" | "SIGKILL";

/** How to start a child process. */
export interface SpawnOptions {
  /** Executable, resolved through PATH (and PATHEXT on Windows) by the runtime. */
  command: string;
  /** Arguments, passed verbatim. */
  args: string[];
  /** The child's complete environment; nothing else is inherited. */
  env: Record<string, string>;
  /** Working directory; the proxy's own when absent. */
  cwd?: string;
}

/** How a child process ended. */
export interface ChildExit {
  /** Exit code, or `null` when a signal ended it. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: string | null;
}

/** A running child process with piped stdio, in a process group of its own. */
export interface ChildProcess {
  /** Process id. */
  readonly pid: number;
  /** The child's stdin. */
  readonly stdin: WritableStream<Uint8Array>;
  /** The child's stdout. */
  readonly stdout: ReadableStream<Uint8Array>;
  /** The child's stderr. */
  readonly stderr: ReadableStream<Uint8Array>;
  /** Settles when the child has exited. */
  readonly exited: Promise<ChildExit>;
  /** Sends `signal` to the child's whole process tree; ignores a tree that is already gone. */
  killTree(signal: Signal): void;
}

/** A listening HTTP server. */
export interface HttpServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections and closes open ones. */
  shutdown(): Promise<void>;
}

/** What the HTTP server allows each connection, against clients that hold them open. */
export interface HttpLimits {
  /** Time from accepting a connection to the end of its first request's headers. */
  headersTimeoutMs: number;
  /** Time from the end of a request's headers to the end of its body. */
  bodyTimeoutMs: number;
  /** Time a keep-alive connection may stay idle between exchanges. */
  keepAliveTimeoutMs: number;
  /** Connections open at once; more are refused with 503 and closed. */
  maxConnections: number;
}

/** The limits of a server given none (the defaults of the command-line flags). */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 60_000,
  keepAliveTimeoutMs: 30_000,
  maxConnections: 4096,
};

/**
 * A request as the HTTP server hands it on, with its body when the server has read it ahead
 * (then `request.body` is used up): handing the text on costs less than a new `Request`.
 */
export interface ReceivedRequest {
  /** The request, its body used up when `bodyText` is given. */
  readonly request: Request;
  /** The body the server read ahead: small bodies of a declared length. */
  readonly bodyText?: string;
}

/** How to start an HTTP server. */
export interface ServeOptions {
  /** Interface to bind. */
  hostname: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** Handles every request. */
  handler: (received: ReceivedRequest) => Response | Promise<Response>;
  /** Timeouts and the connection cap ({@linkcode DEFAULT_HTTP_LIMITS} when not given). */
  limits?: HttpLimits;
  /** Told when connections are shed (rate-limited: one line per burst). */
  onWarning?: (message: string) => void;
  /**
   * Told of each connection, and each HTTP/2 exchange, refused with 503 at the connection
   * cap (for metrics; a runtime without a cap never calls it).
   */
  onRefused?: (reason: "connection" | "exchange") => void;
}

/** A value that follows the asynchronous work started while it is set. */
export interface AsyncSlot<T> {
  /** Calls `fn` with the slot holding `value`, for `fn` and what it starts; returns its result. */
  run<R>(value: T, fn: () => R): R;
  /** The value of the work running now, if any. */
  get(): T | undefined;
}

/** TLS settings for outgoing HTTPS requests. */
export interface TlsOptions {
  /** PEM CA certificates to trust in addition to the defaults. */
  caCerts?: string[];
  /** Skip certificate verification entirely. */
  insecure?: boolean;
}

/**
 * Everything mcp-proxy needs from its host runtime.
 *
 * File and process errors look the same on every runtime: Deno's `name` (`NotFound`,
 * `PermissionDenied`, ...) and Node's `code` (`ENOENT`, `EACCES`, ...).
 */
export interface Runtime {
  /** Operating-system family. */
  readonly os: OsFamily;
  /** The operating system as Node's `process.platform` names it: `linux`, `darwin`, `win32`, ... */
  readonly platform: string;
  /** This process's id. */
  readonly pid: number;
  /** Whether a process with id `pid` exists (one of another user's included). */
  processExists(pid: number): boolean;
  /** Command-line arguments after the program name. */
  args(): string[];
  /** Reads one environment variable. */
  getEnv(name: string): string | undefined;
  /** The whole environment. */
  envObject(): Record<string, string>;
  /** Ends the process. */
  exit(code: number): never;
  /** Whether stdout is a terminal. */
  stdoutIsTerminal(): boolean;
  /** Writes to stderr synchronously so that log lines keep their order. */
  writeStderr(text: string): void;
  /** Writes some of `bytes` to stderr without blocking the event loop; resolves with the count. */
  writeStderrAsync(bytes: Uint8Array): Promise<number>;
  /** The process's stdin as bytes. */
  stdin(): ReadableStream<Uint8Array>;
  /** The process's stdout as bytes. */
  stdout(): WritableStream<Uint8Array>;
  /** Reads a UTF-8 text file. */
  readTextFile(path: string): Promise<string>;
  /**
   * Writes a UTF-8 text file that ends with exactly `mode`, whatever the umask. With
   * `createNew`, fails (`AlreadyExists`) when the file exists, as one atomic step.
   */
  writeTextFile(
    path: string,
    text: string,
    options: { mode: number; createNew?: boolean },
  ): Promise<void>;
  /** Creates directory `path` and any missing parents, new ones with `mode` (less the umask). */
  makeDirectory(path: string, mode: number): Promise<void>;
  /** Renames `from` to `to`, replacing `to` atomically when it exists. */
  rename(from: string, to: string): Promise<void>;
  /** Deletes the file at `path`. */
  removeFile(path: string): Promise<void>;
  /** When the file at `path` was last modified, in ms since the epoch (now, where not kept). */
  modifiedAt(path: string): Promise<number>;
  /** Starts a child process in a process group of its own. */
  spawn(options: SpawnOptions): ChildProcess;
  /** Starts an HTTP server; resolves once it listens. */
  serve(options: ServeOptions): Promise<HttpServer>;
  /** Calls `handler` whenever the process receives `signal`; returns a function that stops it. */
  onSignal(signal: "SIGINT" | "SIGTERM" | "SIGHUP", handler: () => void): () => void;
  /**
   * Soon hands memory the program has freed back to the operating system where the allocator
   * keeps it (glibc on Linux: a few ms, once per burst of calls); does nothing elsewhere.
   */
  releaseFreedMemory(): void;
  /**
   * Calls `callback` once the I/O callbacks of the current turn of the event loop have run
   * (`setImmediate`), without keeping the process alive longer than that turn.
   */
  afterIo(callback: () => void): void;
  /**
   * From now on, an error nothing caught (thrown by a callback, or a promise rejected with no
   * handler) goes to `report` instead of ending the process; one a guard installed earlier
   * already handled does not.
   */
  containUncaughtErrors(report: (error: unknown) => void): void;
  /** A `fetch` that applies the given TLS settings, or throws when the runtime cannot. */
  fetchWithTls(tls: TlsOptions): typeof fetch;
  /**
   * Why a TCP connection to `hostname:port` does not open within `timeoutMs` (refused, or no
   * answer in time), or `undefined` when it does (it is closed at once). `fetch` has no connect
   * timeout, and waits for the system's own (minutes) when an address drops its packets.
   */
  connectionProblem(hostname: string, port: number, timeoutMs: number): Promise<string | undefined>;
  /** A new {@linkcode AsyncSlot} (`AsyncLocalStorage`), loaded only when asked for. */
  createAsyncSlot<T>(): Promise<AsyncSlot<T>>;
}
