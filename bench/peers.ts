/**
 * The peers we compare against, installed from npm into a temporary folder at bench time.
 *
 * Versions are exact (checked with `npm view`): the figures must be reproducible.
 * @module
 */

/** Exact peer versions. */
export const PEER_VERSIONS = {
  supergateway: "4.0.0",
  "mcp-proxy": "6.7.19",
  // The footprint bench's client-mode peer (bench/lean/footprint.ts).
  "mcp-remote": "0.15.1",
} as const;

/** Name of an npm peer. */
export type PeerName = keyof typeof PEER_VERSIONS;

/** Where the peers were installed, and how to run them. */
export interface PeerInstall {
  /** The `npm install --prefix` folder. */
  dir: string;
  /** Whether the benchmark created `dir` (and should remove it). */
  temporary: boolean;
  /** `node` arguments that run a peer's CLI: loopback preload plus its bin script. */
  nodeArgs(peer: PeerName): string[];
}

/**
 * A Node preload that makes `server.listen(port)` bind 127.0.0.1 instead of every interface:
 * supergateway has no host option, and the benchmark must not expose servers on a shared host.
 */
const LOOPBACK_PRELOAD = `import net from "node:net";
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1");
  return listen.apply(this, args);
};
`;

/**
 * Installs the peers with `npm install --prefix` into `dir`, or a new temporary folder.
 * An existing install with the right versions is reused (pass the same `dir` to skip npm).
 */
export async function installPeers(dir?: string): Promise<PeerInstall> {
  const temporary = dir === undefined;
  const prefix = dir ?? await Deno.makeTempDir({ prefix: "mcp-proxy-bench-peers-" });
  await Deno.mkdir(prefix, { recursive: true });
  const bins = new Map<PeerName, string>();
  const missing: string[] = [];
  for (const [name, version] of Object.entries(PEER_VERSIONS) as [PeerName, string][]) {
    const installed = await readPackage(`${prefix}/node_modules/${name}/package.json`);
    if (installed?.version !== version) missing.push(`${name}@${version}`);
  }
  if (missing.length > 0) {
    const npm = await new Deno.Command("npm", {
      args: [
        "install",
        "--prefix",
        prefix,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        ...missing,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!npm.success) {
      throw new Error(
        `npm install ${missing.join(" ")} failed:\n${new TextDecoder().decode(npm.stderr)}`,
      );
    }
  }
  for (const name of Object.keys(PEER_VERSIONS) as PeerName[]) {
    const manifest = await readPackage(`${prefix}/node_modules/${name}/package.json`);
    const bin = typeof manifest?.bin === "string" ? manifest.bin : manifest?.bin?.[name];
    if (!bin) throw new Error(`${name}: no bin in its package.json`);
    bins.set(name, `${prefix}/node_modules/${name}/${bin}`);
  }
  const preload = `${prefix}/bind-loopback.mjs`;
  await Deno.writeTextFile(preload, LOOPBACK_PRELOAD);
  return {
    dir: prefix,
    temporary,
    nodeArgs: (peer) => ["--import", `file://${preload}`, bins.get(peer)!],
  };
}

/** Removes a temporary install. */
export async function removePeers(install: PeerInstall): Promise<void> {
  if (install.temporary) await Deno.remove(install.dir, { recursive: true }).catch(() => {});
}

interface Manifest {
  version?: string;
  bin?: string | Record<string, string>;
}

async function readPackage(path: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return undefined;
  }
}
