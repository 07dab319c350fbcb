/**
 * `deno run -A <url>/main.ts` must work without the checkout: no import may depend on a local
 * config file. The checkout is served over HTTP the way raw.githubusercontent.com serves a
 * repository (every file as `text/plain`), and run from a temporary directory without deno.json.
 */
import assert from "node:assert/strict";
import { normalize } from "node:path/posix";
import denoConfig from "../../deno.json" with { type: "json" };
import { checkServerMode } from "../../scripts/smoke_test.ts";
import { EVERYTHING_SERVER, ROOT } from "../support/paths.ts";
import { run, serveLocally } from "../fixtures/distribution/http.ts";

/** Serves the checkout's files as raw.githubusercontent.com does. */
function serveCheckout() {
  return serveLocally(async (request) => {
    const path = normalize(decodeURIComponent(new URL(request.url).pathname));
    if (path.includes("..")) return new Response("Bad Request", { status: 400 });
    try {
      return new Response(await Deno.readFile(`${ROOT}${path.slice(1)}`), {
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    } catch {
      return new Response("404: Not Found", { status: 404 });
    }
  });
}

/** `deno run -A <origin>/main.ts`, as a command line to append mcp-proxy's arguments to. */
function fromUrl(origin: string): string[] {
  return [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    // Ports get reused across runs: never run a stale copy from Deno's module cache.
    `--reload=${origin}/`,
    `${origin}/main.ts`,
  ];
}

/** Calls `fn` with an empty temporary directory, removed afterwards. */
async function inEmptyDir<T>(fn: (cwd: string) => Promise<T>): Promise<T> {
  const cwd = await Deno.makeTempDir();
  try {
    return await fn(cwd);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

/** Runs `deno run -A <origin>/main.ts ...args` to completion from an empty directory. */
function runFromUrl(origin: string, args: string[]) {
  const [command, ...prefix] = fromUrl(origin);
  return inEmptyDir((cwd) => run(command, [...prefix, ...args], { cwd, env: { NO_COLOR: "1" } }));
}

Deno.test("deno run <url>/main.ts --version prints the version from deno.json", async () => {
  await using server = await serveCheckout();
  const result = await runFromUrl(server.origin, ["--version"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `mcp-proxy ${denoConfig.version}\n`);
});

Deno.test("deno run <url>/main.ts --help prints the help", async () => {
  await using server = await serveCheckout();
  const result = await runFromUrl(server.origin, ["--help"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^usage: mcp-proxy /);
  assert.match(result.stdout, /SSE server options:/);
});

Deno.test("deno run <url>/main.ts serves a stdio server: round trip over /mcp and /sse", async () => {
  await using server = await serveCheckout();
  await inEmptyDir((cwd) =>
    checkServerMode(fromUrl(server.origin), ["node", EVERYTHING_SERVER], { cwd })
  );
});
