/**
 * Polling for a condition in tests that watch another process (its output arrives when it
 * arrives).
 * @module
 */

/** Polls until `condition` holds, failing after `ms` with an error naming `what`. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
