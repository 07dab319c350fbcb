/**
 * Installs the real MCP servers and clients the tests use (tests/npm/package.json) with
 * `npm ci`, unless the installed tree already matches the lock file.
 * @module
 */
const dir = new URL("../npm/", import.meta.url);
const lock = await Deno.readTextFile(new URL("package-lock.json", dir));
const stamp = new URL("node_modules/.installed-lock.json", dir);
const installed = await Deno.readTextFile(stamp).catch(() => "");
if (installed !== lock) {
  const npm = Deno.build.os === "windows" ? "npm.cmd" : "npm";
  const { success } = await new Deno.Command(npm, {
    args: ["ci", "--no-audit", "--no-fund", "--loglevel=error"],
    cwd: dir,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) {
    console.error("npm ci failed in tests/npm");
    Deno.exit(1);
  }
  await Deno.writeTextFile(stamp, lock);
}
