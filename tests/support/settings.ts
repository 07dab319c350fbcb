/**
 * Parses a command line and builds settings in-process, with a fake environment and file
 * system, collecting what would be logged.
 * @module
 */
import { parseCommandLine } from "../../src/cli/parser.ts";
import type { Settings } from "../../src/config.ts";
import { buildSettings, SettingsError } from "../../src/cli/settings.ts";
import type { Logger } from "../../src/io/log.ts";
import type { OsFamily } from "../../src/runtime/mod.ts";

/** One logged line, as `LEVEL message`. */
export type LogLine = string;

/** What a parse produced. */
export type SettingsOutcome =
  | { kind: "settings"; settings: Settings; logs: LogLine[] }
  | { kind: "error"; message: string; exitCode: number; printHelp: boolean; logs: LogLine[] }
  | { kind: "exit"; code: number; stdout: string; stderr: string };

/** The fake world a command line is parsed in. */
export interface FakeWorld {
  env?: Record<string, string>;
  os?: OsFamily;
  /** Config files by path; any other path is missing. */
  files?: Record<string, string>;
}

/** Parses `argv` and builds settings in the given fake world. */
export async function settingsFor(argv: string[], world: FakeWorld = {}): Promise<SettingsOutcome> {
  const env = world.env ?? { PATH: "/usr/bin", HOME: "/home/u" };
  const parsed = parseCommandLine(argv, {
    version: "9.9.9",
    color: false,
    defaultCommandOrUrl: env.SSE_URL,
  });
  if (parsed.kind === "exit") return parsed;
  const logs: LogLine[] = [];
  const log: Logger = {
    debug: (m) => logs.push(`DEBUG ${m}`),
    info: (m) => logs.push(`INFO ${m}`),
    warning: (m) => logs.push(`WARNING ${m}`),
    error: (m) => logs.push(`ERROR ${m}`),
  };
  try {
    const settings = await buildSettings(parsed.args, {
      env,
      os: world.os ?? "posix",
      log,
      readTextFile: (path) => {
        const text = world.files?.[path];
        if (text !== undefined) return Promise.resolve(text);
        const error = new Error(`No such file: ${path}`);
        error.name = "NotFound";
        return Promise.reject(error);
      },
    });
    return { kind: "settings", settings, logs };
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    return {
      kind: "error",
      message: error.message,
      exitCode: error.exitCode,
      printHelp: error.printHelp,
      logs,
    };
  }
}
