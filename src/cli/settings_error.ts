/**
 * How building settings fails, and what it reads besides the arguments.
 * @module
 */
import type { Logger } from "../io/log.ts";
import type { OsFamily } from "../runtime/mod.ts";

/** A start-up failure: what to print and the exit code. */
export class SettingsError extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "SettingsError";
  /** `message` to print, the process's `exitCode`, and whether help is printed first. */
  constructor(message: string, readonly exitCode = 1, readonly printHelp = false) {
    super(message);
  }
}

/** What settings need from outside the arguments. */
export interface SettingsContext {
  /** The proxy's environment. */
  env: Record<string, string>;
  /** The platform family, for the child environment's safe variables. */
  os: OsFamily;
  /** Reads a config file; rejects when it is missing or unreadable. */
  readTextFile(path: string): Promise<string>;
  /** Where warnings about the arguments go. */
  log: Logger;
}
