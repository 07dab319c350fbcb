/**
 * The program: parse the command line, build the settings, run the chosen mode.
 * @module
 */
import { parseCommandLine } from "./cli/parser.ts";
import { buildSettings, SettingsError } from "./cli/settings.ts";
import { getLogger, setLogFormat, setLogLevel, urlForLog } from "./io/log.ts";
import { observed } from "./core/observe/observed.ts";
import { otlpFromEnv } from "./core/observe/otel_env.ts";
import { PROXY_VERSION } from "./protocol/handshake.ts";
import { runtime } from "./runtime/mod.ts";

/** Runs mcp-proxy with `argv` (arguments after the program name); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const outcome = parseCommandLine(argv, {
    version: PROXY_VERSION,
    color: runtime.stdoutIsTerminal() && !runtime.getEnv("NO_COLOR"),
    defaultCommandOrUrl: runtime.getEnv("SSE_URL"),
  });
  if (outcome.kind === "exit") {
    await writeStdout(outcome.stdout);
    runtime.writeStderr(outcome.stderr);
    return outcome.code;
  }

  setLogLevel(outcome.args.debug ? "DEBUG" : outcome.args.log_level);
  setLogFormat(outcome.args.log_format);
  const log = getLogger("mcp_proxy");
  let settings;
  try {
    settings = await buildSettings(outcome.args, {
      env: runtime.envObject(),
      os: runtime.os,
      readTextFile: runtime.readTextFile,
      log,
    });
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    if (error.printHelp) await writeStdout(outcome.help());
    log.error(error.message);
    return error.exitCode;
  }
  const otlp = otlpFromEnv(runtime.envObject(), log.warning);
  if (otlp) {
    // Loaded only when traces are exported.
    const { OtlpTracer } = await import("./core/observe/otlp_tracer.ts");
    observed.tracer = new OtlpTracer(otlp, PROXY_VERSION, fetch, await runtime.createAsyncSlot());
    log.info(`Exporting traces to ${urlForLog(otlp.tracesUrl)} (OTLP/HTTP, JSON)`);
  }
  try {
    // Only the chosen mode is loaded: each brings modules the other never uses.
    return settings.mode === "client"
      ? await (await import("./client/mod.ts")).runClient(settings)
      : await (await import("./server/mod.ts")).runServer(settings);
  } finally {
    await observed.tracer?.shutdown(TRACE_FLUSH_MS);
  }
}

/** How long exiting waits for the last spans to be exported. */
const TRACE_FLUSH_MS = 2_000;

async function writeStdout(text: string): Promise<void> {
  if (!text) return;
  const writer = runtime.stdout().getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
  } finally {
    writer.releaseLock();
  }
}
