/**
 * A temporary folder that is removed when its scope ends, whether the test passed or not.
 * @module
 */

/** A temporary folder: its path, and its removal with `await using`. */
export interface TemporaryFolder extends AsyncDisposable {
  /** Where it is. */
  readonly path: string;
}

/** Makes a temporary folder, removed with everything in it when the `await using` scope ends. */
export async function temporaryFolder(): Promise<TemporaryFolder> {
  const path = await Deno.makeTempDir();
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}
