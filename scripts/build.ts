/**
 * `deno task build` and `deno task compile`: a standalone executable, `--outfile` (default
 * dist/mcp-proxy).
 *
 * - `--compiler bun` (`deno task build`): turns the bundle (`deno task bundle`,
 *   dist/mcp-proxy.js) into an executable with `bun build --compile`, on machines that reach only
 *   the npm registry. Bun comes from npm, pinned, into `.tools/`; `--target bun-<os>-<arch>`
 *   cross-compiles (Bun fetches that platform's runtime from the npm registry too).
 * - `--compiler deno` (`deno task compile`): `deno compile` of the same bundle, which downloads
 *   Deno's runtime from Deno's servers; `--target` is a Deno target triple. From the bundle
 *   rather than main.ts: npm packages come inlined as ES modules, the SDK client only with what
 *   client mode uses (idle RSS in client mode against a 2025 remote 0.86x, start-up 0.83x,
 *   measured as `deno run` of either, bench/lean/footprint.ts).
 *
 * Either way the executable is built into a temporary file beside the output and moved into
 * place only once complete: `deno compile` deletes its output before it downloads anything, so
 * an offline run would otherwise destroy a working executable from an earlier build.
 * @module
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { V8_FLAGS_ARGUMENT } from "./v8_flags.ts";

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
async function compileWithBun(outfile: string, target?: string): Promise<void> {
  const bun = await ensureBun();
  await exec(bun, [
    "build",
    "--compile",
    ...(target ? [`--target=${target}`] : []),
    // A compiled Bun program reads .env and bunfig.toml from its working directory by default;
    // the Deno build does not, and a proxy must not pick up stray environment from a cwd.
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    // Minified: about 2.4 MiB (4 %) less idle RSS in either mode and no slower to start
    // (bench/lean/footprint.ts, 9 interleaved rounds against the plain build). Names kept: logs
    // and argparse's help print class and function names.
    "--minify",
    "--keep-names",
    "dist/mcp-proxy.js",
    "--outfile",
    outfile,
  ]);
}

/** Compiles dist/mcp-proxy.js into `outfile` with `deno compile`, for `target` or this host. */
async function compileWithDeno(outfile: string, target?: string): Promise<void> {
  await exec(Deno.execPath(), [
    "compile",
    "-A",
    V8_FLAGS_ARGUMENT,
    ...(target ? ["--target", target] : []),
    "--output",
    outfile,
    "dist/mcp-proxy.js",
  ]);
}

/**
 * Runs `compile` on a temporary path beside `outfile` and renames the result over `outfile`;
 * on failure the temporary file is removed and `outfile` left as it was. Both compilers add
 * `.exe` for Windows targets, so the paths carry it already.
 */
async function buildInPlace(
  outfile: string,
  forWindows: boolean,
  compile: (path: string) => Promise<void>,
): Promise<void> {
  const exe = forWindows ? ".exe" : "";
  const final = forWindows && !outfile.endsWith(exe) ? `${outfile}${exe}` : outfile;
  const partial = `${final.slice(0, final.length - exe.length)}.partial-${Deno.pid}${exe}`;
  try {
    await compile(partial);
    await Deno.rename(partial, final);
  } catch (error) {
    await Deno.remove(partial).catch(() => {});
    throw error;
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      compiler: { type: "string", default: "bun" },
      target: { type: "string" },
      outfile: { type: "string", default: "dist/mcp-proxy" },
    },
  });
  const { compiler, target } = values;
  // The compilers run in the checkout; the output is relative to where this was started.
  const outfile = resolve(values.outfile);
  if (compiler !== "bun" && compiler !== "deno") {
    console.error(`--compiler must be bun or deno, not ${compiler}`);
    Deno.exit(2);
  }
  const compile = compiler === "bun" ? compileWithBun : compileWithDeno;
  const forWindows = target ? target.includes("windows") : windows;
  try {
    await buildInPlace(outfile, forWindows, (path) => compile(path, target));
  } catch (error) {
    console.error(`Build failed; ${outfile} was left as it was: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
