/**
 * The environment a stdio server is started with, as the original's command line builds it: a
 * safe set of the proxy's variables, or all of them with `--pass-environment`.
 * @module
 */
import type { OsFamily } from "../runtime/mod.ts";
import { windowsEnvValue } from "../runtime/windows.ts";

/** Variables every child receives from the proxy's environment, as the MCP SDK's stdio client does. */
export const SAFE_VARIABLES: Record<OsFamily, readonly string[]> = {
  posix: ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"],
  windows: [
    "APPDATA",
    "HOMEDRIVE",
    "HOMEPATH",
    "LOCALAPPDATA",
    "PATH",
    "PATHEXT",
    "PROCESSOR_ARCHITECTURE",
    "SYSTEMDRIVE",
    "SYSTEMROOT",
    "TEMP",
    "USERNAME",
    "USERPROFILE",
  ],
};

/**
 * The environment shared by every server: the safe variables (skipping shell functions,
 * whose values start with `()`), then the whole proxy environment when `passEnvironment`.
 */
export function baseEnvironment(
  proxyEnv: Record<string, string>,
  os: OsFamily,
  passEnvironment: boolean,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of SAFE_VARIABLES[os]) {
    const value = os === "windows" ? windowsEnvValue(proxyEnv, name) : proxyEnv[name];
    if (value !== undefined && !value.startsWith("()")) env[name] = value;
  }
  return passEnvironment ? { ...env, ...proxyEnv } : env;
}
