/**
 * The runtime's file and process operations (what the OAuth token file and its locks use), run
 * by tests/fixtures/runtime_files.ts under Deno and under the Bun that `deno task build` installs
 * into .tools/: both must behave, and name their errors, alike.
 * @module
 */
import assert from "node:assert/strict";
import { ROOT } from "../../support/paths.ts";

const FIXTURE = `${ROOT}tests/fixtures/runtime_files.ts`;
/** The pinned Bun, where scripts/build.ts installs it. */
const BUN = `${ROOT}.tools/node_modules/bun/bin/bun.exe`;
const hasBun = await Deno.stat(BUN).then((info) => info.isFile, () => false);

/** What the fixture prints on every POSIX host. */
const EXPECTED = {
  platform: Deno.build.os,
  selfExists: true,
  modifiedRecently: true,
  secondCreate: "AlreadyExists",
  renamed: "other",
  readRemoved: "NotFound",
  removeRemoved: "NotFound",
};

/** Runs the fixture under umask 022; resolves to what it printed and the modes it left. */
async function runFixture(command: string, args: string[]) {
  const dir = await Deno.makeTempDir({ dir: `${ROOT}tests` });
  try {
    const output = await new Deno.Command("sh", {
      args: ["-c", 'umask 022 && exec "$0" "$@"', command, ...args, FIXTURE, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const mode = async (path: string) => (await Deno.stat(`${dir}/${path}`)).mode! & 0o777;
    return {
      result: JSON.parse(new TextDecoder().decode(output.stdout)),
      modes: { directory: await mode("a/b"), file: await mode("mode.txt") },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const RUNTIMES = [
  { name: "Deno", command: Deno.execPath(), args: ["run", "-A", "--no-check", "--quiet"] },
  { name: "Bun", command: BUN, args: [], ignore: !hasBun },
];

for (const { name, command, args, ignore } of RUNTIMES) {
  Deno.test({
    name: `${name}: files and processes behave, and fail, as the Runtime interface says`,
    ignore: ignore || Deno.build.os === "windows",
    async fn() {
      const { result, modes } = await runFixture(command, args);
      assert.deepEqual(result, EXPECTED);
      // A directory's mode is filtered by the umask; a file's is exactly the one asked for.
      assert.deepEqual(modes, { directory: 0o700, file: 0o666 });
    },
  });
}
