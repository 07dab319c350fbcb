/**
 * `deno task build`: turns the bundle (`deno task bundle`, dist/mcp-proxy.js) into a standalone
 * executable with `bun build --compile`, on machines that reach only the npm registry
 * (`deno compile` downloads its runtime from elsewhere; `deno task compile` is that path).
 *
 * Bun comes from npm, pinned, into `.tools/`. `--target bun-<os>-<arch>` cross-compiles (Bun
 * fetches that platform's runtime from the npm registry too); `--outfile` names the result
 * (default dist/mcp-proxy).
 * @module
 */
import { parseArgs } from "node:util";

/** The Bun release the executable is built with. */
const BUN_VERSION = "1.4.5";

const ROOT = new URL("../", import.meta.url);
const TOOLS = new URL(".tools/", ROOT);
const windows = Deno.build.os === "windows";

/** Runs `command`, inheriting stdio; throws when it fails. */
async function exec(command: string, args: string[], cwd: URL = ROOT): Promise<void> {
  const { success, code } = await new Deno.Command(command, {
    args,
    cwd,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) throw new Error(`${command} ${args.join(" ")} exited with ${code}`);
}

/** The path of the pinned Bun, installed from npm into .tools/ when absent or another version. */
async function ensureBun(): Promise<string> {
  const installed = await Deno.readTextFile(new URL("node_modules/bun/package.json", TOOLS))
    .then((text) => JSON.parse(text).version as string, () => undefined);
  if (installed !== BUN_VERSION) {
    console.error(`Installing Bun ${BUN_VERSION} from npm into .tools/`);
    await exec(windows ? "npm.cmd" : "npm", [
      "install",
      "--prefix",
      ".tools",
      "--save-exact",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      `bun@${BUN_VERSION}`,
    ]);
  }
  // The npm package's postinstall puts the platform's binary here, named bun.exe everywhere.
  return new URL("node_modules/bun/bin/bun.exe", TOOLS).pathname.replace(/^\/(\w:)/, "$1");
}

/** Compiles dist/mcp-proxy.js into `outfile`, for `target` (a `bun-<os>-<arch>`) or this host. */
async function compile(outfile: string, target?: string): Promise<void> {
  const bun = await ensureBun();
  await exec(bun, [
    "build",
    "--compile",
    ...(target ? [`--target=${target}`] : []),
    // A compiled Bun program reads .env and bunfig.toml from its working directory by default;
    // the Deno build does not, and a proxy must not pick up stray environment from a cwd.
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    "dist/mcp-proxy.js",
    "--outfile",
    outfile,
  ]);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { target: { type: "string" }, outfile: { type: "string" } },
  });
  await compile(values.outfile ?? "dist/mcp-proxy", values.target);
}
