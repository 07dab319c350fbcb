/**
 * scripts/build.ts, behind `deno task build` and `deno task compile`: a build that fails leaves
 * the executable of an earlier build in place. `deno task compile` runs in a copy of the
 * checkout's task definitions (its sources linked), so that the checkout's dist/ is not touched;
 * `DENORT_BIN` pointing nowhere makes `deno compile` fail as it does offline, after the point
 * where it used to delete its output.
 *
 * Not on Windows: the copy links the sources with symlinks.
 */
import assert from "node:assert/strict";
import { ROOT } from "../support/paths.ts";
import { run } from "../fixtures/distribution/http.ts";

/** A small working executable to stand in for an earlier build. */
async function someExecutable(): Promise<Uint8Array> {
  for (const path of ["/bin/true", "/usr/bin/true"]) {
    const bytes = await Deno.readFile(path).catch(() => undefined);
    if (bytes) return bytes;
  }
  throw new Error("no /bin/true to copy");
}

Deno.test({
  name: "deno task compile that fails keeps the executable of an earlier build",
  ignore: Deno.build.os === "windows",
  async fn() {
    const checkout = await Deno.makeTempDir();
    try {
      await Deno.copyFile(`${ROOT}deno.json`, `${checkout}/deno.json`);
      for (const entry of ["deno.lock", "main.ts", "src", "scripts"]) {
        await Deno.symlink(`${ROOT}${entry}`, `${checkout}/${entry}`);
      }
      await Deno.mkdir(`${checkout}/dist`);
      const earlier = await someExecutable();
      await Deno.writeFile(`${checkout}/dist/mcp-proxy`, earlier, { mode: 0o755 });

      const compile = await run(Deno.execPath(), ["task", "compile"], {
        cwd: checkout,
        env: { DENORT_BIN: `${checkout}/no-such-denort` },
      });
      assert.notEqual(compile.code, 0, "deno compile succeeded without its runtime");
      assert.match(compile.stderr, /no-such-denort/);
      assert.deepEqual(await Deno.readFile(`${checkout}/dist/mcp-proxy`), earlier);
      const left = [];
      for await (const entry of Deno.readDir(`${checkout}/dist`)) left.push(entry.name);
      left.sort();
      assert.deepEqual(left, ["mcp-proxy", "mcp-proxy.js"], "a partial build was left behind");
    } finally {
      await Deno.remove(checkout, { recursive: true });
    }
  },
});
