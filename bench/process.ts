/**
 * Process plumbing for the benchmark: starting servers and proxies, reading their stderr,
 * waiting for ports, stopping whole process trees, and sampling memory and CPU from `/proc`.
 * @module
 */

/** A process the benchmark started, with its stderr drained into a short ring buffer. */
export interface Started {
  /** Process id (also its process group id: it is started detached). */
  readonly pid: number;
  /** `performance.now()` just before the spawn. */
  readonly spawnedAt: number;
  /** Its stdout and stderr, interleaved. */
  readonly output: LineBuffer;
  /** SIGTERM to the process, then SIGKILL to its process group after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** How to start a process. */
export interface StartOptions {
  /** Executable. */
  command: string;
  /** Arguments. */
  args: string[];
  /** Extra environment on top of the benchmark's own. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

const TAIL_LINES = 40;

/**
 * The last lines a process wrote, and a way to wait for a line matching a pattern (start-up
 * messages carry URLs). Feed it decoded text with {@linkcode LineBuffer.push}.
 */
export class LineBuffer {
  #lines: string[] = [];
  #partial = "";
  #waiters = new Set<(line: string) => void>();
  #ended = false;
  #onEnd = new Set<() => void>();

  /** Appends decoded output. */
  push(text: string): void {
    const parts = (this.#partial + text).split("\n");
    this.#partial = parts.pop() ?? "";
    for (const part of parts) this.#line(part);
  }

  /** Marks the output as finished: pending waits reject. */
  end(): void {
    if (this.#partial) this.#line(this.#partial);
    this.#partial = "";
    this.#ended = true;
    for (const callback of this.#onEnd) callback();
  }

  /** The last lines, for error messages. */
  tail(): string {
    return [...this.#lines, this.#partial].join("\n").trim();
  }

  /** Resolves with the first line (already seen or still to come) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    for (const line of this.#lines) {
      const match = line.match(pattern);
      if (match) return Promise.resolve(match);
    }
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(onLine);
        this.#onEnd.delete(onEnd);
        settle();
      };
      const onLine = (line: string) => {
        const match = line.match(pattern);
        if (match) finish(() => resolve(match));
      };
      const onEnd = () =>
        finish(() => reject(new Error(`output ended before ${pattern}:\n${this.tail()}`)));
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no line matching ${pattern}:\n${this.tail()}`))),
        timeoutMs,
      );
      if (this.#ended) return onEnd();
      this.#waiters.add(onLine);
      this.#onEnd.add(onEnd);
    });
  }

  #line(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > TAIL_LINES) this.#lines.shift();
    for (const waiter of [...this.#waiters]) waiter(line);
  }
}

/**
 * Starts a process in its own process group with stdin closed, stdout and stderr drained
 * (a full pipe would stall it) into a {@linkcode LineBuffer}.
 */
export function startProcess(options: StartOptions): Started {
  const spawnedAt = performance.now();
  const child = new Deno.Command(options.command, {
    args: options.args,
    env: options.env,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  const output = new LineBuffer();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) output.push(text);
  };
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  Promise.allSettled([drain(child.stdout), drain(child.stderr)]).then(() => output.end());

  const started: Started = {
    pid: child.pid,
    spawnedAt,
    output,
    async stop(graceMs = 5_000) {
      if (!exited) {
        signal(child.pid, "SIGTERM");
        await Promise.race([status, sleep(graceMs)]);
      }
      signal(-child.pid, "SIGKILL");
      if (!exited) signal(child.pid, "SIGKILL");
      await status;
      running.delete(started);
    },
  };
  running.add(started);
  return started;
}

const running = new Set<Started>();

/** Stops every process {@linkcode startProcess} started that is still running (on Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((p) => p.stop(2_000)));
}

/** Sends a signal, ignoring a process (or group, for a negative pid) that is already gone. */
export function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch (error) {
      if (performance.now() > deadline) {
        throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms: ${error}`);
      }
      await sleep(20);
    }
  }
}

/** Resident memory of a process, in KiB, from `/proc/<pid>/status`. */
export interface Memory {
  /** Current resident set size (VmRSS). */
  rssKb: number;
  /** Peak resident set size since start (VmHWM). */
  hwmKb: number;
}

/** Reads a process's current and peak RSS; `undefined` when it is gone. */
export function readMemory(pid: number): Memory | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const field = (name: string) => Number(text.match(new RegExp(`^${name}:\\s+(\\d+)`, "m"))?.[1]);
  return { rssKb: field("VmRSS"), hwmKb: field("VmHWM") };
}

/** Clock ticks per second for `/proc/<pid>/stat` times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU time (user + system) a process has used so far, in milliseconds, from
 * `/proc/<pid>/stat`; its children are not included. `undefined` when it is gone.
 */
export function readCpuMs(pid: number | "self"): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces; the fields after its ")" are fixed.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / USER_HZ;
}

/** Every descendant of a process (children, their children, …), from the `children` files under `/proc/<pid>/task`. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number) => {
    let tasks: Iterable<Deno.DirEntry>;
    try {
      tasks = Deno.readDirSync(`/proc/${parent}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children = "";
      try {
        children = Deno.readTextFileSync(`/proc/${parent}/task/${task.name}/children`);
      } catch {
        continue;
      }
      for (const child of children.split(" ").filter(Boolean).map(Number)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}
