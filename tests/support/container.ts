/**
 * Building and running the project's container image with podman (Linux, as root): the
 * Debian base image the Dockerfile starts `FROM` is made locally with debootstrap, since no
 * container registry is reachable, and cached as a tarball under .tools/container/.
 * @module
 */
import { ROOT } from "./paths.ts";
import { run } from "../fixtures/distribution/http.ts";
import denoConfig from "../../deno.json" with { type: "json" };

/** The name the Dockerfile's first `FROM` uses; the local stand-in is tagged with it. */
export const BASE_IMAGE = "docker.io/library/debian:bookworm-slim";

/** The locally made base image's root file system, kept across runs (.tools/ is ignored). */
const BASE_TARBALL = `${ROOT}.tools/container/debian-bookworm-slim.tar`;

/** This machine's extra certificate authorities (an egress proxy's), trusted inside images too. */
const EXTRA_CA_DIR = "/usr/local/share/ca-certificates";

/** Podman's settings: the caller's CONTAINERS_CONF, else the project's own (see .ci/run). */
const CONTAINERS_CONF = Deno.env.get("CONTAINERS_CONF") ?? `${ROOT}.ci/containers.conf`;

/** Docker's name for this host's architecture, as in `dist/linux-<arch>/` and TARGETARCH. */
export const TARGET_ARCH = Deno.build.arch === "aarch64" ? "arm64" : "amd64";

/** Runs `podman args`; resolves to its exit code and output. */
export function podman(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run("podman", args, { env: { CONTAINERS_CONF } });
}

/** Runs `podman args` and returns its trimmed stdout; throws with its stderr when it fails. */
export async function podmanOk(args: string[]): Promise<string> {
  const result = await podman(args);
  if (result.code !== 0) {
    throw new Error(`podman ${args.join(" ")} exited with ${result.code}:\n${result.stderr}`);
  }
  return result.stdout.trim();
}

/** Runs a command to completion; throws with its output when it fails. */
async function exec(command: string, args: string[]): Promise<void> {
  const result = await run(command, args, { cwd: ROOT });
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${result.code}:\n${result.stdout}${result.stderr}`,
    );
  }
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

/**
 * Makes the base image's tarball: a minimal Debian bookworm from debootstrap, trimmed the way
 * Debian's slim images are (no apt lists or caches, docs, man pages or translations), with this
 * machine's extra CAs in /usr/local/share/ca-certificates so that the Dockerfile's install of
 * `ca-certificates` trusts the egress proxy the npm registry is reached through.
 */
async function makeBaseTarball(): Promise<void> {
  const rootfs = await Deno.makeTempDir({ prefix: "mcp-proxy-rootfs-" });
  try {
    await exec("debootstrap", ["--variant=minbase", "bookworm", rootfs, await debianMirror()]);
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
 * tarball, or made with debootstrap first (about 30 s). With extra CAs, `PIP_CERT` points pip
 * at the system bundle (pip otherwise trusts only its own copy of certifi).
 */
export async function ensureBaseImage(): Promise<void> {
  if ((await podman(["image", "exists", BASE_IMAGE])).code === 0) return;
  const cached = await Deno.stat(BASE_TARBALL).then(() => true, () => false);
  if (!cached) await makeBaseTarball();
  const changes = await hasExtraCertificates()
    ? ["--change", "ENV=PIP_CERT=/etc/ssl/certs/ca-certificates.crt"]
    : [];
  await podmanOk(["import", ...changes, BASE_TARBALL, BASE_IMAGE]);
}

/** Builds the executable the Dockerfile copies: dist/linux-<arch>/mcp-proxy for this host. */
export async function buildExecutable(): Promise<void> {
  const bunArch = TARGET_ARCH === "arm64" ? "arm64" : "x64";
  await exec(Deno.execPath(), [
    "task",
    "build",
    "--target",
    `bun-linux-${bunArch}`,
    "--outfile",
    `dist/linux-${TARGET_ARCH}/mcp-proxy`,
  ]);
}

/**
 * Builds the Dockerfile's `target` stage as `tag`, with the layer cache, the local base image
 * and the host's network (the package stages reach the Debian mirror and the npm registry).
 * Podman does not set TARGETARCH itself, as Docker's BuildKit does: it is passed here.
 */
export async function buildImage(target: string, tag: string): Promise<void> {
  await podmanOk([
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
  ]);
}
