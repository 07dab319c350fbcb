/**
 * Starting mcp-proxy (or any command) as a real child process in tests, and reading its output.
 * @module
 */
import { proxyCommand } from "./paths.ts";
import type { RunResult } from "./run.ts";

/** Runs mcp-proxy with `args` to completion and returns its exit code and output. */
export async function runProxy(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
): Promise<RunResult> {
  const { command, args: prefix } = proxyCommand();
  const child = new Deno.Command(command, {
    args: [...prefix, ...args],
    env: options.env,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** A long-running child whose stderr is collected as it arrives. */
export class RunningProcess {
  #stderr = "";
  #waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];
  readonly child: Deno.ChildProcess;
  readonly exited: Promise<Deno.CommandStatus>;

  constructor(command: string, args: string[], options: Omit<Deno.CommandOptions, "args"> = {}) {
    this.child = new Deno.Command(command, {
      stdin: "null",
      stdout: "null",
      ...options,
      args,
      stderr: "piped",
    }).spawn();
    this.exited = this.child.status;
    this.#pump();
  }

  async #pump() {
    const decoder = new TextDecoder();
    for await (const chunk of this.child.stderr) {
      this.#stderr += decoder.decode(chunk, { stream: true });
      this.#check();
    }
  }

  #check() {
    this.#waiters = this.#waiters.filter((w) => {
      const match = this.#stderr.match(w.pattern);
      if (match) w.resolve(match);
      return !match;
    });
  }

  /** Everything written to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves with the first match of `pattern` in stderr; rejects after `timeoutMs` or on exit. */
  waitForStderr(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const { promise, resolve, reject } = Promise.withResolvers<RegExpMatchArray>();
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; stderr:\n${this.#stderr}`)),
      timeoutMs,
    );
    this.exited.then((status) =>
      setTimeout(
        () =>
          reject(new Error(`exited (${status.code}) before ${pattern}; stderr:\n${this.#stderr}`)),
        50,
      )
    );
    this.#waiters.push({
      pattern,
      resolve: (match) => {
        clearTimeout(timer);
        resolve(match);
      },
    });
    this.#check();
    return promise.finally(() => clearTimeout(timer));
  }

  /** Sends `signal` and waits for the process to end. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch {
      // Already exited.
    }
    return await this.exited;
  }
}

/** How to start a long-running proxy. */
export type StartOptions = Omit<Deno.CommandOptions, "args"> & {
  /** Soft and hard limit of open file descriptors (`ulimit -n`), for flood tests. */
  fdLimit?: number;
};

/** Starts mcp-proxy with `args` as a long-running process. */
export function startProxy(args: string[], options: StartOptions = {}): RunningProcess {
  const { fdLimit, ...commandOptions } = options;
  const { command, args: prefix } = proxyCommand();
  const env = { NO_COLOR: "1", ...options.env };
  if (fdLimit === undefined) {
    return new RunningProcess(command, [...prefix, ...args], { ...commandOptions, env });
  }
  // exec: the shell becomes the proxy, so that its pid is the proxy's.
  return new RunningProcess(
    "sh",
    ["-c", `ulimit -n ${fdLimit} && exec "$0" "$@"`, command, ...prefix, ...args],
    { ...commandOptions, env },
  );
}
