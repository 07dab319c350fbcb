/**
 * Logging to stderr in the original's layout, `[L YYYY-MM-DD HH:MM:SS,mmm logger] message`,
 * or as one JSON object per line (`--log-format json`), with secrets masked. stdout is never
 * written here: in client mode it carries MCP traffic.
 * @module
 */
import { runtime } from "../runtime/mod.ts";
import { StderrQueue } from "./stderr_queue.ts";

/** Log levels, as the command line names them. */
export const LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;

/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];

const RANK: Record<LogLevel, number> = {
  DEBUG: 10,
  INFO: 20,
  WARNING: 30,
  ERROR: 40,
  CRITICAL: 50,
};

let threshold: number = RANK.INFO;

/** How log lines are written: the original's text layout, or one JSON object per line. */
export type LogFormat = "text" | "json";

let format: LogFormat = "text";

/**
 * What a log line says besides its message, for machines: written as members of the line's
 * object in the JSON format (strings masked as messages are), left out of the text format,
 * whose message says it in words.
 */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** The process's stderr: log lines and child servers' stderr, never blocking the proxy. */
const stderr = new StderrQueue(
  runtime.writeStderrAsync,
  (dropped) =>
    getLogger("mcp_proxy").warning(
      `${dropped} line(s) for stderr were dropped: stderr was not being read`,
    ),
);

/**
 * Queues `text` for stderr (dropped, and counted, when stderr is not being read); `deferred`,
 * it may wait a few ms to be written with others (see `StderrQueue.write`).
 */
export function writeStderr(text: string, deferred = false): void {
  stderr.write(text, deferred);
}

/** Resolves once everything queued for stderr was written, or after `timeoutMs`. */
export function flushStderr(timeoutMs: number): Promise<void> {
  return stderr.flush(timeoutMs);
}

/** Where log lines go: a line and whether it may wait to be written with others. */
export type LogSink = (line: string, deferred: boolean) => void;

let sink: LogSink = writeStderr;

/** Sets the lowest level that is written. */
export function setLogLevel(level: LogLevel): void {
  threshold = RANK[level];
}

/** Sets how log lines are written (`--log-format`). */
export function setLogFormat(next: LogFormat): void {
  format = next;
}

/** Whether lines at `level` are written: detail that costs to build is built only then. */
export function isLogged(level: LogLevel): boolean {
  return RANK[level] >= threshold;
}

/** Redirects log lines (tests collect them); returns a function that restores the previous sink. */
export function setLogSink(next: LogSink): () => void {
  const previous = sink;
  sink = next;
  return () => sink = previous;
}

const SECRET_HEADER =
  /\b(authorization|proxy-authorization|x-api-key|cookie|set-cookie)(["']?\s*[:=]\s*["']?)([^"'\r\n,}]+)/gi;
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/**
 * A name of an argument, variable or query parameter whose value is a secret (`token`,
 * `GITHUB_TOKEN`, `client_secret`, `api-key`, `password`...), unless it names where a secret
 * is rather than the secret itself (`--token-url`, `--password-file`).
 */
const SECRET_NAME = String.raw`[\w.-]*?(?:token|secret|passw(?:or)?d|pwd|api[-_]?key|` +
  String.raw`access[-_]?key|private[-_]?key|credentials?)` +
  String.raw`(?![\w.-]*?[-_](?:url|uri|file|path|dir|endpoint)\b)[\w.-]*`;
/** `NAME=value` anywhere: `--token=…`, `token=…`, `API_KEY=…`, `?access_token=…`. */
const SECRET_ASSIGNMENT = new RegExp(
  String.raw`(?<![\w.-])(-{0,2}${SECRET_NAME}=)[^\s"'&,;]+`,
  "gi",
);
/** `--NAME value` in a command line: `--api-key …`, `-password …`. */
const SECRET_OPTION = new RegExp(String.raw`(?<!\S)(--?${SECRET_NAME})(\s+)(?!-)\S+`, "gi");

/** What every secret pattern above contains: a header's name, a scheme, or `=`. */
const MAY_HOLD_SECRET = /authorization|x-api-key|cookie|bearer|basic|=/i;

/**
 * Replaces secrets with `***`: the values of Authorization, X-API-Key and Cookie headers, bearer
 * tokens, and `NAME=value` where NAME looks like a secret's (see {@linkcode maskCommandLine}
 * for `--NAME value`).
 */
export function maskSecrets(text: string): string {
  // Each pattern needs one of these; most lines (a call-log line each call) have none.
  if (!MAY_HOLD_SECRET.test(text)) return text;
  return text
    .replace(SECRET_HEADER, (_, name: string, sep: string) => `${name}${sep}***`)
    .replace(BEARER, (_, scheme: string) => `${scheme} ***`)
    .replace(SECRET_ASSIGNMENT, (_, name: string) => `${name}***`);
}

/**
 * Masks the value after a secret-looking option in a command line (`--api-key VALUE`,
 * `--password VALUE`), for logging it. Only for command lines: in prose, the word after a
 * flag's name is no value (`--api-key needs a KEY`), so every log line cannot get this.
 */
export function maskCommandLine(commandLine: string): string {
  return commandLine.replace(
    SECRET_OPTION,
    (_, name: string, space: string) => `${name}${space}***`,
  );
}

/**
 * A session id for logs: its first 8 characters, too few to use it (the id is a credential).
 * An instance's id in front (`pod-0.`, with `--instance-id`) is kept whole and not counted,
 * so that lines still tell sessions apart.
 */
export function sessionIdForLog(id: string): string {
  const dot = id.indexOf(".");
  return `${id.slice(0, dot + 1 + 8)}…`;
}

/** `url` without credentials, query or fragment, which may hold secrets: for logs. */
export function urlForLog(url: string | URL): string {
  const { origin, pathname } = new URL(url);
  return origin + pathname;
}

/**
 * `text` with `url` (as given, and as parsed) written as {@linkcode urlForLog}, for a message
 * that quotes it or an error that does.
 */
export function withUrlForLog(text: string, url: string): string {
  const shown = urlForLog(url);
  // A text that begins what is shown hides nothing (`http://host` of `http://host/`), and
  // replacing it would repeat the rest (`http://host//`).
  return [url, new URL(url).href].filter((hidden) => !shown.startsWith(hidden))
    .reduce((result, hidden) => result.replaceAll(hidden, shown), text);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** Formats a timestamp as `YYYY-MM-DD HH:MM:SS,mmm` in local time, as Python's logging does. */
export function formatTimestamp(date: Date): string {
  return `${secondOf(date)},${pad(date.getMilliseconds(), 3)}`;
}

/** `YYYY-MM-DD HH:MM:SS` of `date` in local time. */
function secondOf(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** The second {@linkcode timestampNow} last formatted, as `Date.now()` counts seconds. */
let cachedSecond = NaN;
let cachedSecondText = "";

/**
 * {@linkcode formatTimestamp} of now. The call log writes a line per relayed call: the date
 * and time are formatted once per second (local time zones move by whole seconds).
 */
function timestampNow(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedSecondText = secondOf(new Date(now));
  }
  return `${cachedSecondText},${pad(now - second * 1000, 3)}`;
}

/**
 * A line's fields, or what builds them: called only for a line written as JSON (the text
 * format leaves them out), so that a line per call builds none in the default format.
 */
export type LogFieldsOrBuilder = LogFields | (() => LogFields);

/** A named logger. */
export interface Logger {
  /** Detailed diagnostics. */
  debug(message: string, fields?: LogFieldsOrBuilder): void;
  /** Normal progress. */
  info(message: string, fields?: LogFieldsOrBuilder): void;
  /** Something was ignored or degraded. */
  warning(message: string, fields?: LogFieldsOrBuilder): void;
  /** Something failed. */
  error(message: string, fields?: LogFieldsOrBuilder): void;
}

/** The members every JSON line begins with, which `fields` cannot replace. */
const BASE_MEMBERS = new Set(["time", "level", "logger", "message"]);

/** One log line as a JSON object: time (ISO 8601, UTC), level, logger, message, then `fields`. */
function jsonLine(level: LogLevel, name: string, message: string, fields?: LogFields): string {
  const line: Record<string, unknown> = {
    time: new Date().toISOString(),
    level,
    logger: name,
    message: maskSecrets(message),
  };
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined || BASE_MEMBERS.has(key)) continue;
    line[key] = typeof value === "string" ? maskSecrets(value) : value;
  }
  return `${JSON.stringify(line)}\n`;
}

/**
 * Returns the logger named `name` (`mcp_proxy.<module>` by convention). The lines of a
 * `deferred` logger (one that writes a line per call) may wait a few ms for others, to be
 * written with them; the next line of another logger takes them along.
 */
export function getLogger(name: string, { deferred = false } = {}): Logger {
  const write = (level: LogLevel) => (message: string, fields?: LogFieldsOrBuilder) => {
    if (RANK[level] < threshold) return;
    if (format === "json") {
      const built = typeof fields === "function" ? fields() : fields;
      return sink(jsonLine(level, name, message, built), deferred);
    }
    // One line per event: a multi-line message (a stack trace) keeps its breaks as `\n`.
    const masked = maskSecrets(message);
    const line = masked.includes("\n") ? masked.replaceAll("\n", "\\n") : masked;
    sink(`[${level[0]} ${timestampNow()} ${name}] ${line}\n`, deferred);
  };
  return {
    debug: write("DEBUG"),
    info: write("INFO"),
    warning: write("WARNING"),
    error: write("ERROR"),
  };
}

/**
 * Queues for stderr a line that the stdio server `server` wrote to its stderr: `[server] line`
 * as the original has it, or in the JSON format a line of the logger `mcp_proxy.child`.
 */
export function writeChildStderr(server: string, line: string): void {
  if (format === "json") {
    writeStderr(jsonLine("INFO", "mcp_proxy.child", line, { server }));
  } else {
    writeStderr(`[${server}] ${line}\n`);
  }
}
