/**
 * Running the official Python `mcp` SDK's client (from the venv of tests/support/python.ts)
 * against a URL, through the scripted client tests/fixtures/python_mcp_client.py: a list of
 * requests in, the events it saw out.
 * @module
 */
import { ROOT } from "./paths.ts";
import { PYTHON_VENV } from "./python.ts";
import { runReadingLines } from "./run.ts";

/** One request for the Python client to send. */
export interface PythonOperation {
  /** The MCP method (`tools/list`, `tools/call`, `resources/read`...). */
  readonly method: string;
  /** Its params. */
  readonly params?: Record<string, unknown>;
  /** Whether it carries a progress token (progress notifications become `progress` events). */
  readonly progress?: boolean;
}

/** One event the Python client printed, in order. */
export interface PythonEvent {
  /** The `initialize` result (the first event). */
  readonly initialize?: Record<string, unknown>;
  /** The method of a request answered. */
  readonly method?: string;
  /** Its result. */
  readonly result?: Record<string, unknown>;
  /** Its error. */
  readonly error?: { code: number; message: string };
  /** A notification of the server. */
  readonly notification?: { method: string; params?: Record<string, unknown> };
  /** The params of an elicitation (answered with `{"name": "python"}`). */
  readonly elicitation?: Record<string, unknown>;
  /** A progress notification of a request sent with `progress`. */
  readonly progress?: { progress: number; total?: number };
}

/**
 * Runs the Python client against `url` (Streamable HTTP, or SSE), sending `operations` in
 * order; resolves with what it printed once it exits, and fails if it exits with an error.
 */
export async function runPythonClient(
  url: string,
  operations: readonly PythonOperation[],
  transport: "streamable-http" | "sse" = "streamable-http",
): Promise<PythonEvent[]> {
  const { code, stdout, stderr } = await runReadingLines(`${PYTHON_VENV}/bin/python`, [
    `${ROOT}tests/fixtures/python_mcp_client.py`,
    url,
    JSON.stringify(operations),
    "--transport",
    transport,
  ]);
  if (code !== 0) throw new Error(`the Python MCP client exited with ${code}: ${stderr}`);
  return stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

/** The result of the `index`-th answer (errors included) of `method` among `events`. */
export function pythonResult(
  events: readonly PythonEvent[],
  method: string,
  index = 0,
): Record<string, unknown> {
  const answer = events.filter((event) => event.method === method)[index];
  if (answer?.result === undefined) {
    throw new Error(`no result of ${method} #${index}: ${JSON.stringify(answer)}`);
  }
  return answer.result;
}
