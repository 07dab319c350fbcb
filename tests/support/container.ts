/**
 * Building and running the project's container image with podman (Linux, as root): the
 * Debian base image the Dockerfile starts `FROM` is made locally with debootstrap, since no
 * container registry is reachable, and cached as a tarball under .tools/container/.
 *
 * Podman runs on a store of the test's own, inside the checkout (.tools/podman/: image store,
 * run state and libpod's tmp dir), never the machine's: the test neither sees nor leaves images
 * there, and another podman running on the machine does not share its state files.
 * {@linkcode removePodmanStore} deletes that store; the base tarball stays for the next run.
 * @module
 */
import { ROOT } from "./paths.ts";
import { type RunOptions, runReadingLines, type RunResult } from "./run.ts";
import { buildExecutable } from "./executable.ts";
import denoConfig from "../../deno.json" with { type: "json" };

/** The name the Dockerfile's first `FROM` uses; the local stand-in is tagged with it. */
export const BASE_IMAGE = "docker.io/library/debian:bookworm-slim";

/** The locally made base image's root file system, kept across runs (.tools/ is ignored). */
const BASE_TARBALL = `${ROOT}.tools/container/debian-bookworm-slim.tar`;

/** This machine's extra certificate authorities (an egress proxy's), trusted inside images too. */
const EXTRA_CA_DIR = "/usr/local/share/ca-certificates";

/** Podman's settings: the caller's CONTAINERS_CONF, else the project's own (see .ci/run). */
const CONTAINERS_CONF = Deno.env.get("CONTAINERS_CONF") ?? `${ROOT}.ci/containers.conf`;

/** The test's podman store: images and containers, run state, tmp files. */
const PODMAN_DIR = `${ROOT}.tools/podman`;

/** Podman's global options that put all of its state into {@linkcode PODMAN_DIR}. */
const PODMAN_STORE_ARGS = [
  "--root",
  `${PODMAN_DIR}/root`,
  "--runroot",
  `${PODMAN_DIR}/runroot`,
  // libpod's state files (`alive`, locks, events): the machine's /run/libpod belongs to the
  // machine's podman.
  "--tmpdir",
  `${PODMAN_DIR}/tmp`,
];

/** Docker's name for this host's architecture, as in `dist/linux-<arch>/` and TARGETARCH. */
export const TARGET_ARCH = Deno.build.arch === "aarch64" ? "arm64" : "amd64";

const started = performance.now();

/** One line on stderr: what the container test is doing, and the seconds since it started. */
export function progress(message: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(0).padStart(3);
  console.error(`[container ${seconds} s] ${message}`);
}

/** Runs a command to completion and returns its trimmed stdout; throws when it fails. */
async function exec(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  const result = await runReadingLines(command, args, options);
  if (result.code !== 0) {
    const output = (result.stdout + result.stderr).slice(-8_000);
    throw new Error(`${command} ${args.join(" ")} exited with ${result.code}:\n${output}`);
  }
  return result.stdout.trim();
}

/**
 * The options that run podman on the test's store; TMPDIR is where podman stages image layers
 * (default /var/tmp).
 */
async function podmanOptions(onLine?: (line: string) => void): Promise<RunOptions> {
  await Deno.mkdir(`${PODMAN_DIR}/tmp`, { recursive: true });
  return { env: { CONTAINERS_CONF, TMPDIR: `${PODMAN_DIR}/tmp` }, onLine };
}

/** Runs `podman args` on the test's store; resolves to its exit code and output. */
export async function podman(args: string[]): Promise<RunResult> {
  return runReadingLines("podman", [...PODMAN_STORE_ARGS, ...args], await podmanOptions());
}

/** Runs `podman args` on the test's store and returns its trimmed stdout; throws when it fails. */
export async function podmanOk(args: string[]): Promise<string> {
  return exec("podman", [...PODMAN_STORE_ARGS, ...args], await podmanOptions());
}

/** The names in `dir`, none when it does not exist. */
async function fileNames(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name);
  } catch {
    return [];
  }
}

/** The Debian mirror apt uses on this machine (deb822 `URIs:` or a one-line `deb` entry). */
async function debianMirror(): Promise<string> {
  const sources: string[] = [];
  for (const dir of ["/etc/apt/sources.list.d", "/etc/apt"]) {
    for (const name of await fileNames(dir)) {
      if (/\.(sources|list)$/.test(name)) sources.push(await Deno.readTextFile(`${dir}/${name}`));
    }
  }
  const text = sources.join("\n");
  const mirror = text.match(/^URIs:\s*(\S+\/debian)\/?\s*$/m)?.[1] ??
    text.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+bookworm\b/m)?.[1];
  return mirror ?? "http://deb.debian.org/debian";
}

/** Whether this machine has extra certificate authorities to carry into the base image. */
async function hasExtraCertificates(): Promise<boolean> {
  return (await fileNames(EXTRA_CA_DIR)).some((name) => name.endsWith(".crt"));
}

/** debootstrap's lines about one package ("I: Retrieving libc6 2.36-9", "I: Unpacking libc6..."). */
const DEBOOTSTRAP_PACKAGE_LINE =
  /^I: ((Retrieving|Validating) \S+ \S+|(Extracting|Unpacking|Configuring) \S+\.\.\.)$/;

/**
 * Makes the base image's tarball: a minimal Debian bookworm from debootstrap, trimmed the way
 * Debian's slim images are (no apt lists or caches, docs, man pages or translations), with this
 * machine's extra CAs in /usr/local/share/ca-certificates so that the Dockerfile's install of
 * `ca-certificates` trusts the egress proxy the npm registry is reached through.
 */
async function makeBaseTarball(): Promise<void> {
  const rootfs = await Deno.makeTempDir({ prefix: "mcp-proxy-rootfs-" });
  try {
    const mirror = await debianMirror();
    progress(`debootstrap: a minimal Debian bookworm from ${mirror}`);
    await exec("debootstrap", ["--variant=minbase", "bookworm", rootfs, mirror], {
      onLine: (line) => {
        const text = line.trimEnd();
        if (text.startsWith("I: ") && !DEBOOTSTRAP_PACKAGE_LINE.test(text)) {
          progress(`debootstrap: ${text.slice(3)}`);
        }
      },
    });
    await exec("sh", [
      "-c",
      'cd "$1" && rm -rf var/cache/apt/*.bin var/cache/apt/archives/*.deb var/lib/apt/lists/* ' +
      "usr/share/doc/* usr/share/man/* usr/share/info/* && " +
      "find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +",
      "trim",
      rootfs,
    ]);
    if (await hasExtraCertificates()) {
      await exec("sh", [
        "-c",
        'mkdir -p "$2$1" && cp "$1"/*.crt "$2$1/"',
        "copy",
        EXTRA_CA_DIR,
        rootfs,
      ]);
    }
    await Deno.mkdir(`${ROOT}.tools/container`, { recursive: true });
    await exec("tar", ["-C", rootfs, "-cf", `${BASE_TARBALL}.partial`, "."]);
    await Deno.rename(`${BASE_TARBALL}.partial`, BASE_TARBALL);
  } finally {
    await Deno.remove(rootfs, { recursive: true });
  }
}

/**
 * Makes sure podman has {@linkcode BASE_IMAGE}: already there, imported from the cached
 * tarball, or made with debootstrap first (about 40 s). With extra CAs, `PIP_CERT` and
 * `NODE_EXTRA_CA_CERTS` point pip and Node.js at the system bundle (each otherwise trusts only
 * its own copy of Mozilla's list).
 */
export async function ensureBaseImage(): Promise<void> {
  if ((await podman(["image", "exists", BASE_IMAGE])).code === 0) return;
  const cached = await Deno.stat(BASE_TARBALL).then(() => true, () => false);
  if (!cached) await makeBaseTarball();
  const bundle = "/etc/ssl/certs/ca-certificates.crt";
  const changes = await hasExtraCertificates()
    ? ["--change", `ENV=PIP_CERT=${bundle}`, "--change", `ENV=NODE_EXTRA_CA_CERTS=${bundle}`]
    : [];
  progress(`importing ${cached ? "the cached" : "the new"} base image`);
  await podmanOk(["import", ...changes, BASE_TARBALL, BASE_IMAGE]);
}

/**
 * Puts the executable the Dockerfile copies, dist/linux-<arch>/mcp-proxy, in place: the one
 * `deno task build` makes for this host (shared with binary_test, see ./executable.ts).
 */
export async function placeExecutable(): Promise<void> {
  const executable = await buildExecutable();
  const dir = `${ROOT}dist/linux-${TARGET_ARCH}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.copyFile(executable, `${dir}/mcp-proxy`);
}

/**
 * Builds the Dockerfile's `target` stage as `tag`, with the layer cache, the local base image
 * and the host's network (the package stages reach the Debian mirror and the npm registry),
 * logging each step as it starts. Podman does not set TARGETARCH itself, as Docker's BuildKit
 * does: it is passed here.
 */
export async function buildImage(target: string, tag: string): Promise<void> {
  progress(`podman build --target ${target}`);
  // The steps that take time; a multi-stage build's read "[2/5] STEP 3/4: RUN ...".
  const onLine = (line: string) => {
    if (/^(\[\d+\/\d+\] )?STEP \d+\/\d+: (FROM|RUN|COPY) /.test(line)) {
      progress(`${target}: ${line.slice(0, 110)}`);
    }
  };
  await exec("podman", [
    ...PODMAN_STORE_ARGS,
    "build",
    "--format",
    "docker", // the OCI image format has no HEALTHCHECK
    "--pull=never",
    "--layers",
    "--network=host",
    "--target",
    target,
    "--build-arg",
    `TARGETARCH=${TARGET_ARCH}`,
    "--build-arg",
    `VERSION=${denoConfig.version}`,
    "--tag",
    tag,
    ROOT,
  ], await podmanOptions(onLine));
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
async function mountsBelow(dir: string): Promise<string[]> {
  const info = await Deno.readTextFile("/proc/self/mountinfo").catch(() => "");
  return info.split("\n")
    .map((line) => line.split(" ")[4]?.replace(/\\040/g, " "))
    .filter((point): point is string => point === dir || point?.startsWith(`${dir}/`) === true)
    .sort((a, b) => b.length - a.length);
}

/**
 * Deletes the test's podman store and everything in it: its containers (stopped first), its
 * images, whatever a killed earlier run left mounted, and the directory. Run before building
 * (an earlier run may have been killed) and at the end.
 */
export async function removePodmanStore(): Promise<void> {
  if (!(await Deno.stat(PODMAN_DIR).then(() => true, () => false))) return;
  await podman(["rm", "--all", "--force", "--time", "0"]);
  await podman(["rmi", "--all", "--force"]);
  for (const point of await mountsBelow(PODMAN_DIR)) {
    await runReadingLines("umount", ["--lazy", point]);
  }
  await Deno.remove(PODMAN_DIR, { recursive: true });
  progress("removed the test's podman store (.tools/podman)");
}
