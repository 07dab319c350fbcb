/**
 * Running a command to completion in the checkout, its stdout read line by line as it comes.
 * Kept apart from process.ts, which starts the proxy: importing this makes no test a
 * process-level one (see tests/e2e/binary_test.ts).
 * @module
 */
import { ROOT } from "./paths.ts";

/** The finished result of a command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How to run a command: extra environment, and who reads its stdout line by line. */
export interface RunOptions {
  env?: Record<string, string>;
  onLine?: (line: string) => void;
}

/** Runs `command args` to completion, handing each line of its stdout to `onLine` as it comes. */
export async function runReadingLines(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const child = new Deno.Command(command, {
    args,
    cwd: ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  let pending = "";
  for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
    stdout += text;
    const lines = (pending + text).split("\n");
    pending = lines.pop()!;
    lines.forEach((line) => options.onLine?.(line));
  }
  if (pending) options.onLine?.(pending);
  const { code } = await child.status;
  return { code, stdout, stderr: await stderr };
}
