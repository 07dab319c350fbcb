/**
 * Installs the Python side of the tests into `.tools/python` (a venv of the checkout's own):
 * the Python original `mcp-proxy` 0.13.0, run beside ours on the same inputs, and `uv`, whose
 * `uvx` launches `mcp-server-fetch` as the original's README does. Versions are pinned here;
 * the venv is made again when they change.
 * @module
 */
import { PYTHON_PACKAGES, PYTHON_VENV } from "./python.ts";

const stamp = `${PYTHON_VENV}/.installed-packages`;
const wanted = PYTHON_PACKAGES.join(" ");
const installed = await Deno.readTextFile(stamp).catch(() => "");
if (installed !== wanted) {
  const python = Deno.env.get("PYTHON") ?? "python3";
  await run(python, ["-m", "venv", "--clear", PYTHON_VENV]);
  await run(`${PYTHON_VENV}/bin/pip`, [
    "install",
    "--quiet",
    "--disable-pip-version-check",
    ...PYTHON_PACKAGES,
  ]);
  await Deno.writeTextFile(stamp, wanted);
}

async function run(command: string, args: string[]): Promise<void> {
  const { success } = await new Deno.Command(command, {
    args,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) {
    console.error(`${command} ${args.join(" ")} failed`);
    Deno.exit(1);
  }
}
