/**
 * Opens a URL in the user's browser the way Python's `webbrowser` and git do: each command in
 * `$BROWSER` (separated by the path-list separator; `%s` stands for the URL, else the URL is
 * appended) in turn until one exits 0, or else the platform's opener.
 * @module
 */
import type { Runtime } from "../../runtime/mod.ts";
import { splitShellWords } from "../../io/shell_words.ts";

/** The commands to try for `url`, as argument vectors, in order. */
export function browserCommands(
  url: string,
  env: Record<string, string>,
  platform: string,
): string[][] {
  const fromEnv = (env.BROWSER ?? "").split(platform === "win32" ? ";" : ":")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .flatMap((entry) => {
      try {
        const words = splitShellWords(entry);
        return words.length === 0 ? [] : [
          words.some((word) => word.includes("%s"))
            ? words.map((word) => word.replaceAll("%s", url))
            : [...words, url],
        ];
      } catch {
        return [];
      }
    });
  if (fromEnv.length > 0) return fromEnv;
  if (platform === "darwin") return [["open", url]];
  // rundll32 takes the URL as one argument, where `cmd /c start` would split it at `&`.
  if (platform === "win32") return [["rundll32", "url.dll,FileProtocolHandler", url]];
  return [["xdg-open", url]];
}

/**
 * Runs the browser commands for `url` until one succeeds; resolves to whether one did. The
 * commands' output is discarded: stdout belongs to MCP.
 */
export async function openBrowser(
  runtime: Runtime,
  url: string,
  platform: string,
): Promise<boolean> {
  const env = runtime.envObject();
  for (const [command, ...args] of browserCommands(url, env, platform)) {
    try {
      const child = runtime.spawn({ command, args, env });
      await child.stdin.close().catch(() => {});
      const drained = [child.stdout, child.stderr].map((stream) =>
        stream.pipeTo(new WritableStream()).catch(() => {})
      );
      const exit = await child.exited;
      await Promise.all(drained);
      if (exit.code === 0) return true;
    } catch {
      // Not installed (a headless machine): try the next one.
    }
  }
  return false;
}
