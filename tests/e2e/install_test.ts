/**
 * install.sh against a local release server shaped like GitHub's, serving stand-in executables.
 * A fake `uname` first on PATH picks the platform, so every OS/architecture mapping is exercised
 * on any POSIX host. (tests/e2e/binary_test.ts installs the real executable the same way.) What
 * the README says of it holds: its Claude Desktop snippet, the mirror layout, the pinned command.
 */
import assert from "node:assert/strict";
import { ROOT } from "../support/paths.ts";
import { run, serveLocally } from "../fixtures/distribution/http.ts";
import { makeRelease, type Release, serveReleases } from "../fixtures/distribution/release.ts";

const INSTALL_SH = `${ROOT}install.sh`;
const README = await Deno.readTextFile(`${ROOT}README.md`);
const LATEST = "v1.2.3";
const skipOnWindows = Deno.build.os === "windows";
const hasShellcheck = !skipOnWindows &&
  (await run("sh", ["-c", "command -v shellcheck"])).code === 0;

/** A release whose stand-in `mcp-proxy` for each target prints `mcp-proxy <version>`. */
async function standInRelease(version: string, targets: string[]): Promise<Release> {
  const executable = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(executable, `#!/bin/sh\necho "mcp-proxy ${version}"\n`);
    await Deno.chmod(executable, 0o755);
    return await makeRelease(targets.map((target) => ({ target, executable })));
  } finally {
    await Deno.remove(executable);
  }
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

/** The README's fenced blocks (their text, without the fences) after `heading`, in order. */
function readmeBlocks(heading: string): string[] {
  const section = README.slice(README.indexOf(`\n${heading}\n`));
  assert.notEqual(section.length, README.length + 1, `the README has no ${heading}`);
  return [...section.matchAll(/^```[^\n]*\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
}

/** The README's Claude Desktop snippet, with the installed path it shows. */
function readmeSnippet(): { text: string; command: string } {
  const text = readmeBlocks("## Claude Desktop")[0];
  const command = JSON.parse(text).mcpServers["remote-example"].command;
  return { text, command };
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
        [LATEST, await standInRelease("1.2.3", ALL_TARGETS)],
        ["v1.0.0", await standInRelease("1.0.0", ALL_TARGETS)],
      ]),
      LATEST,
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

      // PATH advice and the README's Claude Desktop snippet, naming the installed binary.
      assert.ok(latest.stdout.includes(`export PATH="${home}/root/bin:$PATH"`));
      const printed = latest.stdout.slice(latest.stdout.indexOf("{"));
      assert.equal(JSON.parse(printed).mcpServers["remote-example"].command, bin);
      const readme = readmeSnippet();
      assert.equal(printed.replace(`"${bin}"`, `"${readme.command}"`), readme.text);
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
      new Map([[LATEST, await standInRelease("1.2.3", ALL_TARGETS)]]),
      LATEST,
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
    const good = await standInRelease("1.2.3", ["x86_64-unknown-linux-gnu"]);
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
      LATEST,
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

/** The "Get it" section's mirror layout: the paths under `$MCP_PROXY_RELEASES_URL`. */
function readmeMirrorLayout(): string[] {
  const block = readmeBlocks("## Get it").find((text) =>
    text.startsWith("$MCP_PROXY_RELEASES_URL/")
  );
  assert.ok(block, "the README shows no mirror layout");
  return block.trimEnd().split("\n").map((line) => line.slice("$MCP_PROXY_RELEASES_URL".length));
}

/** The "Get it" section's command that pins a version, and the tag it pins. */
function readmePinnedCommand(): { command: string; tag: string } {
  const line = readmeBlocks("## Get it").flatMap((text) => text.split("\n"))
    .find((text) => text.includes("| MCP_PROXY_VERSION="));
  assert.ok(line, "the README shows no pinned install");
  return { command: line, tag: /MCP_PROXY_VERSION=(\S+)/.exec(line)![1] };
}

Deno.test({
  name: "install.sh from a mirror of plain files laid out as the README says, pinned its way",
  ignore: skipOnWindows,
  async fn() {
    const target = "x86_64-unknown-linux-gnu";
    const { command, tag } = readmePinnedCommand();
    const releases = new Map([
      ["latest", await standInRelease("1.2.3", [target])],
      [tag, await standInRelease(tag.replace(/^v/, ""), [target])],
    ]);
    // Every file the layout names, for both releases; nothing else (no redirects).
    const files = new Map<string, Uint8Array<ArrayBuffer>>();
    for (const path of readmeMirrorLayout()) {
      for (const [name, release] of releases) {
        if (path.startsWith("/latest/") !== (name === "latest")) continue;
        const asset = path.replace("<tag>", name).replace("<target>", target);
        const file = asset.slice(asset.lastIndexOf("/") + 1);
        assert.ok(release.has(file), `the release has no ${file}`);
        files.set(`/mirror${asset}`, release.get(file)!);
      }
    }
    files.set("/install.sh", await Deno.readFile(INSTALL_SH));
    await using server = await serveLocally((request) => {
      const body = files.get(new URL(request.url).pathname);
      return body ? new Response(body) : new Response("Not Found", { status: 404 });
    });
    const home = await fakeMachine(LINUX);
    try {
      const env = {
        HOME: home,
        PATH: `${home}/fakebin:${Deno.env.get("PATH")}`,
        MCP_PROXY_RELEASES_URL: `${server.origin}/mirror`,
        MCP_PROXY_INSTALL: `${home}/root`,
      };
      const bin = `${home}/root/bin/mcp-proxy`;
      const latest = await install(server.origin, home, env);
      assert.equal(latest.code, 0, latest.stderr);
      assert.equal((await run(bin, ["--version"])).stdout, "mcp-proxy 1.2.3\n");

      // The README's command, as written, from the mirror's copy of install.sh.
      const pinned = await run("sh", [
        "-c",
        command.replace(/https:\/\/\S+\/install\.sh/, `${server.origin}/install.sh`),
      ], { env });
      assert.equal(pinned.code, 0, pinned.stderr);
      assert.equal((await run(bin, ["--version"])).stdout, `mcp-proxy ${tag.replace(/^v/, "")}\n`);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
