/**
 * Children that die with the proxy: on Linux each stdio server is started through
 * `setpriv --pdeathsig KILL`, which sets the parent-death signal and then execs the server, so
 * that a SIGKILLed proxy cannot leave it running (a graceful stop signals it as before).
 *
 * The signal reaches the server process only: its own children (grandchildren of the proxy)
 * are not covered, as Linux does not pass a parent-death signal on across fork. Elsewhere, or
 * without `setpriv` (util-linux), the command runs as given.
 * @module
 */

/** Where util-linux installs setpriv. */
const SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv"];

/** What the wrapping needs from the host. */
export interface ParentDeathHost {
  /** Whether the host is Linux. */
  linux: boolean;
  /** Whether `path` is an executable regular file. */
  isExecutable(path: string): boolean;
}

let setpriv: string | null | undefined;

/** The first executable `command` on `path` (colon-separated), or `undefined`. */
function onPath(command: string, path: string, host: ParentDeathHost): string | undefined {
  for (const dir of path.split(":")) {
    const candidate = `${dir || "."}/${command}`;
    if (host.isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * `command` and `args` to spawn so that the server gets SIGKILL when the proxy dies. A command
 * that cannot be found is returned as is, so that spawning fails the way it always did.
 */
export function withParentDeathSignal(
  command: string,
  args: string[],
  env: Record<string, string>,
  host: ParentDeathHost,
): { command: string; args: string[] } {
  if (!host.linux) return { command, args };
  setpriv ??= SETPRIV_PATHS.find((path) => host.isExecutable(path)) ?? null;
  if (!setpriv) return { command, args };
  // Resolved here, with the server's PATH, so that a missing command is still NotFound.
  const resolved = command.includes("/") ? command : onPath(command, env.PATH ?? "", host);
  if (!resolved || !host.isExecutable(resolved)) return { command, args };
  return { command: setpriv, args: ["--pdeathsig", "KILL", "--", resolved, ...args] };
}
