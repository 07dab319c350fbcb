/**
 * Windows command resolution: `npx` must find `npx.cmd` through PATHEXT, and batch files
 * must run through `cmd.exe`, which neither Deno nor Bun does on its own.
 * @module
 */

/** Reads `name` (upper case) from `env` as Windows does: "Path" is PATH. */
export function windowsEnvValue(env: Record<string, string>, name: string): string | undefined {
  return env[name] ?? Object.entries(env).find(([key]) => key.toUpperCase() === name)?.[1];
}

/** The executable and arguments to actually start. */
export interface ResolvedCommand {
  /** Executable path or name. */
  command: string;
  /** Its arguments. */
  args: string[];
}

/**
 * Resolves a bare command through PATH and PATHEXT from `env`, wrapping `.cmd`/`.bat`
 * files in `cmd.exe /d /s /c`. Returns the input unchanged when nothing matches.
 */
export function resolveWindowsCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
  isFile: (path: string) => boolean,
): ResolvedCommand {
  const lookup = (name: string) => windowsEnvValue(env, name) ?? "";
  const extensions = /\.[^\\/.]+$/.test(command)
    ? [""]
    : lookup("PATHEXT").split(";").filter(Boolean);
  const isPath = /[\\/]/.test(command);
  const dirs = isPath ? [""] : lookup("PATH").split(";").filter(Boolean);
  for (const dir of dirs) {
    for (const ext of extensions) {
      const candidate = dir ? `${dir.replace(/[\\/]$/, "")}\\${command}${ext}` : `${command}${ext}`;
      if (!isFile(candidate)) continue;
      if (/\.(cmd|bat)$/i.test(candidate)) {
        return { command: "cmd.exe", args: ["/d", "/s", "/c", candidate, ...args] };
      }
      return { command: candidate, args };
    }
  }
  return { command, args };
}
