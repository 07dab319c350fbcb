/**
 * The program: parse the command line, build the settings, run the chosen mode.
 * @module
 */
import { parseCommandLine } from "./cli/parser.ts";
import { buildSettings, SettingsError } from "./cli/settings.ts";
import { getLogger, setLogFormat, setLogLevel } from "./io/log.ts";
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
  // Only the chosen mode is loaded: each brings modules the other never uses.
  return settings.mode === "client"
    ? await (await import("./client/mod.ts")).runClient(settings)
    : await (await import("./server/mod.ts")).runServer(settings);
}

async function writeStdout(text: string): Promise<void> {
  if (!text) return;
  const writer = runtime.stdout().getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
  } finally {
    writer.releaseLock();
  }
}
