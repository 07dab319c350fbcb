/**
 * Logging to stderr in the original's layout, `[L YYYY-MM-DD HH:MM:SS,mmm logger] message`,
 * with secrets masked. stdout is never written here: in client mode it carries MCP traffic.
 * @module
 */
import { runtime } from "./runtime/mod.ts";
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

/** The process's stderr: log lines and child servers' stderr, never blocking the proxy. */
const stderr = new StderrQueue(
  runtime.writeStderrAsync,
  (dropped) =>
    getLogger("mcp_proxy").warning(
      `${dropped} line(s) for stderr were dropped: stderr was not being read`,
    ),
);

/** Queues `text` for stderr (dropped, and counted, when stderr is not being read). */
export function writeStderr(text: string): void {
  stderr.write(text);
}

/** Resolves once everything queued for stderr was written, or after `timeoutMs`. */
export function flushStderr(timeoutMs: number): Promise<void> {
  return stderr.flush(timeoutMs);
}

let sink: (line: string) => void = writeStderr;

/** Sets the lowest level that is written. */
export function setLogLevel(level: LogLevel): void {
  threshold = RANK[level];
}

/** Whether messages at `level` are currently written. */
export function isLogEnabled(level: LogLevel): boolean {
  return RANK[level] >= threshold;
}

/** Redirects log lines (tests collect them); returns a function that restores the previous sink. */
export function setLogSink(next: (line: string) => void): () => void {
  const previous = sink;
  sink = next;
  return () => sink = previous;
}

const SECRET_HEADER =
  /\b(authorization|proxy-authorization|x-api-key|cookie|set-cookie)(["']?\s*[:=]\s*["']?)([^"'\r\n,}]+)/gi;
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/** Replaces the values of Authorization, X-API-Key and Cookie headers, and bearer tokens, with `***`. */
export function maskSecrets(text: string): string {
  return text
    .replace(SECRET_HEADER, (_, name: string, sep: string) => `${name}${sep}***`)
    .replace(BEARER, (_, scheme: string) => `${scheme} ***`);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** Formats a timestamp as `YYYY-MM-DD HH:MM:SS,mmm` in local time, as Python's logging does. */
export function formatTimestamp(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())},` +
    pad(date.getMilliseconds(), 3);
}

/** A named logger. */
export interface Logger {
  /** Detailed diagnostics. */
  debug(message: string): void;
  /** Normal progress. */
  info(message: string): void;
  /** Something was ignored or degraded. */
  warning(message: string): void;
  /** Something failed. */
  error(message: string): void;
}

/** Returns the logger named `name` (`mcp_proxy.<module>` by convention). */
export function getLogger(name: string): Logger {
  const write = (level: LogLevel) => (message: string) => {
    if (RANK[level] < threshold) return;
    sink(`[${level[0]} ${formatTimestamp(new Date())} ${name}] ${maskSecrets(message)}\n`);
  };
  return {
    debug: write("DEBUG"),
    info: write("INFO"),
    warning: write("WARNING"),
    error: write("ERROR"),
  };
}
