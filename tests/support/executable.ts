/**
 * The standalone executable `deno task build` makes (dist/mcp-proxy, Bun, for this host), built
 * once and shared by the tests that need it (tests/e2e/binary_test.ts runs it,
 * tests/e2e/container_test.ts puts it into the image), also when they run at the same time.
 * @module
 */
import { ROOT } from "./paths.ts";
import { run } from "../fixtures/distribution/http.ts";

/** Where `deno task build` puts the executable by default. */
export const EXECUTABLE = `${ROOT}dist/mcp-proxy`;

/** The bundle the executables are compiled from (`deno task bundle`; Bun's and `deno compile`'s). */
export const BUNDLE = `${ROOT}dist/mcp-proxy.js`;

/** What the executable was compiled from: the bundle's and the build script's SHA-256. */
const SOURCE_STAMP = `${EXECUTABLE}.source-sha256`;

/** Held while the bundle and the executable are written: one writer of dist/ at a time. */
const BUILD_LOCK = `${ROOT}dist/.build.lock`;

/** Runs `deno args` in the checkout; throws with the end of its output when it fails. */
async function deno(args: string[]): Promise<void> {
  const result = await run(Deno.execPath(), args, { cwd: ROOT });
  if (result.code !== 0) {
    const output = result.stdout + result.stderr;
    throw new Error(`deno ${args.join(" ")} exited with ${result.code}:\n${output.slice(-8_000)}`);
  }
}

/** The hex SHA-256 of the bundle and of scripts/build.ts, which picks the Bun release. */
async function sourceDigest(): Promise<string> {
  const parts = await Promise.all(
    [BUNDLE, `${ROOT}scripts/build.ts`].map((path) => Deno.readFile(path)),
  );
  const joined = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Bundles the checkout (`deno task bundle`) and compiles the bundle with Bun into
 * {@linkcode EXECUTABLE} (scripts/build.ts, as `deno task build` does), unless the executable
 * there was compiled from the same bundle: a second test file in the same run reuses the first
 * one's build, and a changed source is always rebuilt. Resolves to the executable's path.
 */
export async function buildExecutable(): Promise<string> {
  await Deno.mkdir(`${ROOT}dist`, { recursive: true });
  using lock = await Deno.open(BUILD_LOCK, { create: true, write: true });
  await lock.lock(true);
  await deno(["task", "bundle"]);
  const digest = await sourceDigest();
  const built = await Deno.readTextFile(SOURCE_STAMP).catch(() => "");
  const present = await Deno.stat(EXECUTABLE).then(() => true, () => false);
  if (built !== digest || !present) {
    await Deno.remove(SOURCE_STAMP).catch(() => {});
    await deno(["run", "-A", `${ROOT}scripts/build.ts`]);
    await Deno.writeTextFile(SOURCE_STAMP, digest);
  }
  return EXECUTABLE;
}
