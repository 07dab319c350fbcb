/**
 * Reloading the named-server config file without a restart: on SIGHUP, and with
 * `--watch-config` whenever the file's text changes. A file that cannot be used keeps the
 * running configuration, and the log says why.
 * @module
 */
import type { ConfigSource, ServedConfiguration } from "../config.ts";
import { getLogger } from "../io/log.ts";
import { runtime } from "../runtime/mod.ts";

const log = getLogger("mcp_proxy.server");

/**
 * How often a watched file is read for changes. Reading it is cheaper than a file-system
 * watch that works alike on every runtime and platform, and editors that replace the file
 * (write a copy, rename it over) are seen as well.
 */
export const CONFIG_POLL_MS = 1_000;

/**
 * Re-reads `source` on SIGHUP (and when it changes, if watched) and hands each usable new
 * configuration to `apply`. Returns the function that stops listening.
 */
export function reloadOnChange(
  source: ConfigSource,
  apply: (next: ServedConfiguration) => void,
): () => void {
  // One reload at a time, in the order asked for.
  let queue = Promise.resolve();
  const reload = (why: string) => {
    queue = queue.then(async () => {
      log.info(`Reloading ${source.path} (${why})`);
      try {
        apply(await source.load());
      } catch (error) {
        log.error(
          `Could not reload ${source.path}: ${(error as Error).message} Keeping the running ` +
            "configuration; fix the file and reload again.",
        );
      }
    });
  };
  const stopSignal = runtime.onSignal("SIGHUP", () => reload("SIGHUP"));
  if (!source.watch) return stopSignal;

  let seen: string | undefined;
  const read = () => runtime.readTextFile(source.path).catch(() => undefined);
  read().then((text) => seen = text);
  const poll = setInterval(async () => {
    const text = await read();
    // A file being rewritten may read as empty or missing for a moment: judged once written.
    if (text === undefined || text === seen) return;
    seen = text;
    reload("the file changed");
  }, CONFIG_POLL_MS);
  return () => {
    stopSignal();
    clearInterval(poll);
  };
}
