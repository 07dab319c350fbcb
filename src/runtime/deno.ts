/**
 * The {@linkcode Runtime} for Deno.
 * @module
 */
import type { ChildExit, ChildProcess, OsFamily, Runtime, Signal, SpawnOptions } from "./types.ts";
import { serveGuarded } from "./deno_http.ts";
import { insecureFetch } from "./insecure_fetch.ts";
import { killTree, type TreeSignals } from "./kill_tree.ts";
import { withParentDeathSignal } from "./parent_death.ts";
import { processExists } from "./process_exists.ts";
import { resolveWindowsCommand } from "./windows.ts";
import { createAsyncSlot } from "./async_slot.ts";

// A function, not a constant: Bun loads this module too, and has no `Deno` global.
function hostOs(): OsFamily {
  return Deno.build.os === "windows" ? "windows" : "posix";
}

function isExecutable(path: string): boolean {
  try {
    const stat = Deno.statSync(path);
    return stat.isFile && ((stat.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** How Deno runs `taskkill` and signals a process group. */
const denoTreeSignals: TreeSignals = {
  taskkill(pid) {
    new Deno.Command("taskkill", { args: ["/T", "/F", "/PID", String(pid)] }).spawn();
  },
  signalGroup: (pid, signal) => Deno.kill(-pid, signal),
};

function spawn(options: SpawnOptions): ChildProcess {
  const { command, args } = hostOs() === "windows"
    ? resolveWindowsCommand(options.command, options.args, options.env, (path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    })
    : withParentDeathSignal(options.command, options.args, options.env, {
      linux: Deno.build.os === "linux",
      isExecutable,
    });
  const child = new Deno.Command(command, {
    args,
    env: options.env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    // A process group of its own, so the whole tree can be signalled at once.
    detached: hostOs() === "posix",
  }).spawn();
  const exited: Promise<ChildExit> = child.status.then((status) => ({
    code: status.signal ? null : status.code,
    signal: status.signal,
  }));
  let done = false;
  exited.then(() => done = true);
  return {
    pid: child.pid,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    killTree: (signal: Signal) => killTree(hostOs(), child.pid, signal, done, denoTreeSignals),
  };
}

/** glibc's `malloc_trim`, or `null` where it cannot be had (not glibc, no FFI permission). */
let mallocTrim: ((pad: bigint) => number) | null | undefined;

/** Time for the garbage collector to free what was let go before it is handed back. */
const RELEASE_DELAY_MS = 2_000;

let releaseTimer: ReturnType<typeof setTimeout> | undefined;

function trimNow(): void {
  releaseTimer = undefined;
  if (mallocTrim === undefined) {
    try {
      if (Deno.build.os !== "linux") throw new Error("not Linux");
      const libc = Deno.dlopen(
        "libc.so.6",
        {
          malloc_trim: { parameters: ["usize"], result: "i32" },
        } as const,
      );
      mallocTrim = libc.symbols.malloc_trim;
    } catch {
      mallocTrim = null;
    }
  }
  mallocTrim?.(0n);
}

function releaseFreedMemory(): void {
  if (releaseTimer !== undefined || mallocTrim === null) return;
  const timer = setTimeout(trimNow, RELEASE_DELAY_MS);
  // Never what keeps the process alive.
  Deno.unrefTimer(timer);
  releaseTimer = timer;
}

async function writeTextFile(
  path: string,
  text: string,
  options: { mode: number; createNew?: boolean },
): Promise<void> {
  await Deno.writeTextFile(path, text, options);
  // The mode given when creating is filtered by the umask; Windows has no mode to set.
  if (hostOs() === "posix") await Deno.chmod(path, options.mode);
}

/** The Deno implementation of {@linkcode Runtime}. */
export const denoRuntime: Runtime = {
  get os() {
    return hostOs();
  },
  get platform() {
    return Deno.build.os === "windows" ? "win32" : Deno.build.os;
  },
  get pid() {
    return Deno.pid;
  },
  processExists,
  args: () => [...Deno.args],
  getEnv: (name) => Deno.env.get(name),
  envObject: () => Deno.env.toObject(),
  exit: (code) => Deno.exit(code),
  stdoutIsTerminal: () => Deno.stdout.isTerminal(),
  writeStderr(text) {
    const bytes = new TextEncoder().encode(text);
    let written = 0;
    while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
  },
  writeStderrAsync: (bytes) => Deno.stderr.write(bytes),
  stdin: () => Deno.stdin.readable,
  stdout: () => Deno.stdout.writable,
  readTextFile: (path) => Deno.readTextFile(path),
  writeTextFile,
  makeDirectory: (path, mode) => Deno.mkdir(path, { recursive: true, mode }),
  rename: (from, to) => Deno.rename(from, to),
  removeFile: (path) => Deno.remove(path),
  modifiedAt: async (path) => (await Deno.stat(path)).mtime?.getTime() ?? Date.now(),
  spawn,
  serve: serveGuarded,
  onSignal(signal, handler) {
    // Windows delivers only SIGINT (and SIGBREAK) to Deno.
    if (hostOs() === "windows" && signal !== "SIGINT") return () => {};
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  },
  releaseFreedMemory,
  afterIo: (callback) => void setImmediate(callback),
  createAsyncSlot,
  containUncaughtErrors(report) {
    globalThis.addEventListener("error", (event) => {
      if (event.defaultPrevented) return;
      event.preventDefault();
      report(event.error);
    });
    globalThis.addEventListener("unhandledrejection", (event) => {
      if (event.defaultPrevented) return;
      event.preventDefault();
      report(event.reason);
    });
  },
  async connectionProblem(hostname, port, timeoutMs) {
    try {
      const connection = await Deno.connect({
        hostname,
        port,
        signal: AbortSignal.timeout(timeoutMs),
      });
      connection.close();
      return undefined;
    } catch (error) {
      return (error as Error).name === "TimeoutError"
        ? `no connection within ${timeoutMs / 1000} s`
        : (error as Error).message;
    }
  },
  fetchWithTls(tls) {
    if (tls.insecure) return insecureFetch();
    const client = Deno.createHttpClient({ caCerts: tls.caCerts });
    return (input, init) => fetch(input, { ...init, client });
  },
};
