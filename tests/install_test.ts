/**
 * install.sh against a local release server shaped like GitHub's: `latest/download/<asset>`
 * redirects to `download/<tag>/<asset>`. A fake `uname` first on PATH picks the platform, so
 * every OS/architecture mapping is exercised on any POSIX host.
 */
import assert from "node:assert/strict";
import { ROOT } from "./support/paths.ts";
import { run, serveLocally } from "./fixtures/distribution/http.ts";

const INSTALL_SH = `${ROOT}install.sh`;
const LATEST = "v1.2.3";
const skipOnWindows = Deno.build.os === "windows";
const hasShellcheck = !skipOnWindows &&
  (await run("sh", ["-c", "command -v shellcheck"])).code === 0;

/** A release: asset name to bytes, SHA256SUMS included. */
type Release = Map<string, Uint8Array<ArrayBuffer>>;

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Packs a stand-in `mcp-proxy` that prints `mcp-proxy <version>` for each target, plus SHA256SUMS. */
async function makeRelease(version: string, targets: string[]): Promise<Release> {
  const work = await Deno.makeTempDir();
  try {
    const release: Release = new Map();
    for (const target of targets) {
      const windows = target.includes("windows");
      const exe = windows ? "mcp-proxy.exe" : "mcp-proxy";
      const dir = `${work}/${target}`;
      await Deno.mkdir(dir);
      await Deno.writeTextFile(`${dir}/${exe}`, `#!/bin/sh\necho "mcp-proxy ${version}"\n`, {
        mode: 0o755,
      });
      const asset = `mcp-proxy-${target}.${windows ? "zip" : "tar.gz"}`;
      const packed = windows
        ? await run("zip", ["-q", `${work}/${asset}`, exe], { cwd: dir })
        : await run("tar", ["-czf", `${work}/${asset}`, "-C", dir, exe]);
      assert.equal(packed.code, 0, packed.stderr);
      release.set(asset, await Deno.readFile(`${work}/${asset}`));
    }
    const sums = await Promise.all(
      [...release].map(async ([name, bytes]) => `${await sha256Hex(bytes)}  ${name}\n`),
    );
    release.set("SHA256SUMS", new TextEncoder().encode(sums.join("")));
    return release;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/** Serves `releases` (tag to release) under `/releases`, the way GitHub lays them out. */
function serveReleases(releases: Map<string, Release>) {
  return serveLocally((request) => {
    const path = new URL(request.url).pathname;
    const latest = path.match(/^\/releases\/latest\/download\/([^/]+)$/);
    if (latest) {
      return Response.redirect(new URL(`/releases/download/${LATEST}/${latest[1]}`, request.url));
    }
    const pinned = path.match(/^\/releases\/download\/([^/]+)\/([^/]+)$/);
    const body = pinned && releases.get(pinned[1])?.get(pinned[2]);
    return body ? new Response(body) : new Response("Not Found", { status: 404 });
  });
}

/** A scratch HOME holding a fake `uname` that reports `os` and `arch`. */
async function fakeMachine({ os, arch }: { os: string; arch: string }): Promise<string> {
  const home = await Deno.makeTempDir();
  await Deno.mkdir(`${home}/fakebin`);
  await Deno.writeTextFile(
    `${home}/fakebin/uname`,
    `#!/bin/sh\ncase "$1" in -s) echo ${os} ;; -m) echo ${arch} ;; *) exit 1 ;; esac\n`,
    { mode: 0o755 },
  );
  return home;
}

/** Runs install.sh as the fake machine at `home`, installing into `<home>/root`. */
function install(origin: string, home: string, env: Record<string, string> = {}) {
  return run("sh", [INSTALL_SH], {
    env: {
      HOME: home,
      PATH: `${home}/fakebin:${Deno.env.get("PATH")}`,
      MCP_PROXY_RELEASES_URL: `${origin}/releases`,
      MCP_PROXY_INSTALL: `${home}/root`,
      ...env,
    },
  });
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

const LINUX = { os: "Linux", arch: "x86_64" };
const ALL_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

Deno.test({
  name: "install.sh installs the latest release, a pinned one, and replaces an older install",
  ignore: skipOnWindows,
  async fn() {
    await using server = await serveReleases(
      new Map([
        [LATEST, await makeRelease("1.2.3", ALL_TARGETS)],
        ["v1.0.0", await makeRelease("1.0.0", ALL_TARGETS)],
      ]),
    );
    const home = await fakeMachine(LINUX);
    try {
      // The tag may be given without its "v".
      const pinned = await install(server.origin, home, { MCP_PROXY_VERSION: "1.0.0" });
      assert.equal(pinned.code, 0, pinned.stderr);
      const bin = `${home}/root/bin/mcp-proxy`;
      assert.equal((await run(bin, ["--version"])).stdout, "mcp-proxy 1.0.0\n");
      assert.match(pinned.stdout, /Installed mcp-proxy 1\.0\.0/);

      // Upgrade in place to the latest.
      const latest = await install(server.origin, home);
      assert.equal(latest.code, 0, latest.stderr);
      assert.equal((await run(bin, ["--version"])).stdout, "mcp-proxy 1.2.3\n");
      assert.deepEqual(
        (await Array.fromAsync(Deno.readDir(`${home}/root/bin`))).map((e) => e.name),
        ["mcp-proxy"],
      );

      // PATH advice and a Claude Desktop snippet that parses and names the installed binary.
      assert.ok(latest.stdout.includes(`export PATH="${home}/root/bin:$PATH"`));
      const snippet = JSON.parse(latest.stdout.slice(latest.stdout.indexOf("{")));
      assert.equal(Object.values(snippet.mcpServers).length, 1);
      assert.equal(
        (Object.values(snippet.mcpServers)[0] as { command: string }).command,
        bin,
      );
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "install.sh maps each OS and architecture to its release asset",
  ignore: skipOnWindows,
  async fn(t) {
    await using server = await serveReleases(
      new Map([[LATEST, await makeRelease("1.2.3", ALL_TARGETS)]]),
    );
    const cases = [
      { os: "Linux", arch: "amd64", exe: "mcp-proxy" },
      { os: "Darwin", arch: "arm64", exe: "mcp-proxy" },
      { os: "MINGW64_NT-10.0-26100", arch: "x86_64", exe: "mcp-proxy.exe" },
    ];
    for (const machine of cases) {
      await t.step(`${machine.os} ${machine.arch}`, async () => {
        const home = await fakeMachine(machine);
        try {
          const result = await install(server.origin, home);
          assert.equal(result.code, 0, result.stderr);
          const bin = `${home}/root/bin/${machine.exe}`;
          assert.equal((await run(bin, ["--version"])).stdout, "mcp-proxy 1.2.3\n");
        } finally {
          await Deno.remove(home, { recursive: true });
        }
      });
    }
  },
});

Deno.test({
  name: "install.sh installs nothing when a checksum, an asset or the platform is wrong",
  ignore: skipOnWindows,
  async fn(t) {
    const good = await makeRelease("1.2.3", ["x86_64-unknown-linux-gnu"]);
    const tampered: Release = new Map(good);
    tampered.set(
      "SHA256SUMS",
      new TextEncoder().encode(
        new TextDecoder().decode(good.get("SHA256SUMS")).replace(
          /^[0-9a-f]/,
          (c) => c === "0" ? "1" : "0",
        ),
      ),
    );
    await using server = await serveReleases(
      new Map([[LATEST, good], ["v6.6.6", tampered]]),
    );
    const cases: {
      name: string;
      machine: { os: string; arch: string };
      env: Record<string, string>;
      error: RegExp;
    }[] = [
      {
        name: "tampered SHA256SUMS",
        machine: LINUX,
        env: { MCP_PROXY_VERSION: "v6.6.6" },
        error: /checksum mismatch for mcp-proxy-x86_64-unknown-linux-gnu\.tar\.gz/,
      },
      {
        name: "missing asset (404)",
        machine: { os: "Linux", arch: "aarch64" },
        env: {},
        error: /could not download .*mcp-proxy-aarch64-unknown-linux-gnu\.tar\.gz/,
      },
      {
        name: "unknown tag (404)",
        machine: LINUX,
        env: { MCP_PROXY_VERSION: "v0.0.1" },
        error: /could not download .*\/download\/v0\.0\.1\//,
      },
      {
        name: "unsupported architecture",
        machine: { os: "Linux", arch: "riscv64" },
        env: {},
        error: /no mcp-proxy release for the riscv64 architecture/,
      },
    ];
    for (const { name, machine, env, error } of cases) {
      await t.step(name, async () => {
        const home = await fakeMachine(machine);
        try {
          const result = await install(server.origin, home, env);
          assert.notEqual(result.code, 0);
          assert.match(result.stderr, error);
          assert.equal(await exists(`${home}/root`), false, "nothing may be installed");
        } finally {
          await Deno.remove(home, { recursive: true });
        }
      });
    }
  },
});

Deno.test({
  name: "install.sh is POSIX sh and shellcheck-clean",
  // shellcheck is an apt package, not an npm one: checked where it is installed.
  ignore: !hasShellcheck,
  async fn() {
    const result = await run("shellcheck", ["--shell=sh", INSTALL_SH]);
    assert.equal(result.code, 0, result.stdout);
  },
});
