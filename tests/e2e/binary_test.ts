/**
 * The standalone executable that `deno task build` makes (the bundle compiled by Bun) must behave
 * like `deno run main.ts`. This builds it (or takes the build container_test made in the same
 * run, see tests/support/executable.ts), smoke-tests it (scripts/smoke_test.ts, as the release
 * workflow does), installs it with install.sh from a local release laid out like release.yml's,
 * then reruns every test file that starts the proxy as a process with `MCP_PROXY_BIN` pointing
 * at the executable, those files in parallel (DENO_JOBS at a time, as for the outer run), each
 * test's result line shown as it ends. The bundle itself, which `deno compile` builds the
 * releases from, then runs the command-line, client-mode and route tests under `deno run`.
 *
 * Not on Windows: the Bun build is checked on Linux and macOS; Windows releases use `deno compile`.
 */
import assert from "node:assert/strict";
import { EVERYTHING_SERVER, ROOT } from "../support/paths.ts";
import { buildExecutable, BUNDLE, EXECUTABLE } from "../support/executable.ts";
import { runReadingLines } from "../support/run.ts";
import denoConfig from "../../deno.json" with { type: "json" };
import { run } from "../fixtures/distribution/http.ts";
import { makeRelease, serveReleases } from "../fixtures/distribution/release.ts";

/** Marks the tests/support modules that start the proxy as a process. */
const LAUNCHES_PROXY = /\bproxyCommand\(/;

/** Local paths of the modules `file` imports, itself and transitive imports included. */
async function moduleGraph(file: string): Promise<string[]> {
  const info = await run(Deno.execPath(), ["info", "--json", file], { cwd: ROOT });
  assert.equal(info.code, 0, info.stderr);
  const { modules } = JSON.parse(info.stdout) as { modules: { local?: string }[] };
  return modules.flatMap((module) => module.local ? [module.local] : []);
}

/** The `*_test.ts` files below `folders` (relative to the checkout), subfolders included. */
async function testFiles(...folders: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const folder of folders) {
    for await (const entry of Deno.readDir(`${ROOT}${folder}`)) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory) found.push(...await testFiles(path));
      else if (entry.isFile && entry.name.endsWith("_test.ts")) found.push(path);
    }
  }
  return found;
}

/** Test files (relative to the checkout) that start the proxy, directly or through helpers. */
async function processLevelTestFiles(): Promise<string[]> {
  const launches = new Map<string, Promise<boolean>>();
  const isLauncher = (path: string) => {
    if (!path.startsWith(`${ROOT}tests/`) || path.endsWith("/paths.ts")) return false;
    if (!launches.has(path)) {
      launches.set(path, Deno.readTextFile(path).then((source) => LAUNCHES_PROXY.test(source)));
    }
    return launches.get(path)!;
  };
  const files: string[] = [];
  // Every test file, however deep (tests/unit/ mirrors src/): a process-level test outside
  // tests/e2e/ must run here too.
  for (const file of await testFiles("tests/unit", "tests/e2e")) {
    if (file === "tests/e2e/binary_test.ts") continue;
    const graph = await moduleGraph(file);
    if ((await Promise.all(graph.map(isLauncher))).some(Boolean)) files.push(file);
  }
  return files.sort();
}

/** The last part of a long output, enough to see why a nested run failed. */
function tail(text: string): string {
  return text.length > 12_000 ? `…${text.slice(-12_000)}` : text;
}

/** A line of `deno test --parallel` that ends a test: "./file => name ... ok (12ms)". */
const RESULT_LINE = / => .* \.\.\. (ok|FAILED|ignored)\b/;

/** The tests run against the bundle: the command line, client mode, server mode's routes. */
const BUNDLE_TESTS = /\/(cli_|client_|server_routes_)[^/]*$/;

/**
 * Runs `files` with `deno test --parallel` against `build` (`MCP_PROXY_BIN`), writing each
 * test's result line to stderr as it comes (a nested run takes minutes), marked with `label` so
 * that no one reads them as the outer run's summary. Resolves to its exit code and whole output.
 */
async function testAgainst(
  build: string,
  label: string,
  files: string[],
): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await runReadingLines(
    Deno.execPath(),
    ["test", "-A", "--no-check", "--parallel", ...files],
    {
      env: { MCP_PROXY_BIN: build, NO_COLOR: "1" },
      onLine: (line) => {
        if (RESULT_LINE.test(line)) console.error(`[${label}] ${line}`);
      },
    },
  );
  return { code, output: stdout + stderr };
}

Deno.test({
  name: "the Bun-compiled executable: build, smoke test, install.sh, process-level tests",
  ignore: Deno.build.os === "windows",
  async fn(t) {
    await t.step("deno task build makes dist/mcp-proxy", async () => {
      await buildExecutable();
      assert.ok((await Deno.stat(EXECUTABLE)).mode! & 0o111, "not executable");
    });

    await t.step("smoke test: --version and a server-mode round trip", async () => {
      const smoke = await run(Deno.execPath(), [
        "run",
        "-A",
        `${ROOT}scripts/smoke_test.ts`,
        EXECUTABLE,
        "--",
        "node",
        EVERYTHING_SERVER,
      ]);
      assert.equal(smoke.code, 0, tail(smoke.stderr));
    });

    await t.step("install.sh installs it from a release of this host's target", async () => {
      const tag = `v${denoConfig.version}`;
      const release = await makeRelease([{ target: Deno.build.target, executable: EXECUTABLE }]);
      await using server = await serveReleases(new Map([[tag, release]]), tag);
      const home = await Deno.makeTempDir();
      try {
        const install = await run("sh", [`${ROOT}install.sh`], {
          env: { HOME: home, MCP_PROXY_RELEASES_URL: `${server.origin}/releases` },
        });
        assert.equal(install.code, 0, install.stderr);
        const installed = await run(`${home}/.mcp-proxy/bin/mcp-proxy`, ["--version"]);
        assert.equal(installed.stdout, `mcp-proxy ${denoConfig.version}\n`);
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    });

    const files = await processLevelTestFiles();
    await t.step(`against the executable: ${files.join(" ")}`, async () => {
      const nested = await testAgainst(EXECUTABLE, "executable", files);
      assert.equal(nested.code, 0, tail(nested.output));
    });

    const bundleFiles = files.filter((file) => BUNDLE_TESTS.test(file));
    await t.step(`the bundle under deno run: ${bundleFiles.join(" ")}`, async () => {
      assert.ok(bundleFiles.length >= 10, `only ${bundleFiles.join(" ")}`);
      const nested = await testAgainst(BUNDLE, "bundle", bundleFiles);
      assert.equal(nested.code, 0, tail(nested.output));
    });
  },
});
