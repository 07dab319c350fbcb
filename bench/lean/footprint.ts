/**
 * Footprint bench: idle memory and start-up of ours against what a user would run instead, in
 * interleaved rounds (every system once per round, the order rotating).
 *
 * Each run spawns the system afresh and times spawn → the `initialize` answer (client mode: on
 * its stdin/stdout, the remote already running; server mode: a POST to `/mcp`, retried until it
 * listens, its child spawned by it). Then `notifications/initialized` and `tools/list` (the
 * answer checked), 6 s idle (`--idle`), and the RSS of the whole process tree (`/proc` VmRSS of
 * the process and its descendants: npx's or uvx's launcher, the server mode's child) and of the
 * process alone (the launcher for npx and uvx). The remote of client mode is our server mode in
 * front of the lean echo child (`modern`) or the minimal relay in front of it (`legacy`: only the
 * 2025 revisions, as most remotes today, and where our client mode loads the SDK v2 client); every
 * server mode (ours, the Python original) runs that child.
 *
 * ```sh
 * deno run -A bench/lean/footprint.ts [--rounds 5] [--idle 6] [--only REGEX] [--no-peers]
 *   [--bin dist/mcp-proxy] [--build NAME=OLD/main.ts] [--build NAME=OLD/mcp-proxy] [--uvx]
 *   [--peers-dir DIR]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { commandFor, proxyCommand } from "../../tests/support/paths.ts";
import { installPeers, type PeerInstall, removePeers } from "../peers.ts";
import { freePort, stopAll } from "../process.ts";
import { median } from "../report.ts";
import { spread } from "./report.ts";
import { ECHO_CHILD } from "./systems.ts";
import {
  type FootprintSample,
  measureClient,
  measureServer,
  spawn,
  stopGroup,
  tail,
} from "./footprint_measure.ts";

export type { FootprintSample };

/** A system measured by the footprint bench. */
export interface FootprintSystem {
  /** Its id, for `--only` (`ours-client`, `python-client`, …). */
  id: string;
  /** Its name in the report. */
  name: string;
  /** Client mode (stdio in front of a remote) or server mode (HTTP in front of a stdio child). */
  mode: "client" | "server";
  /** A peer (the reference of the ratios) or one of our builds. */
  peer: boolean;
  /** Its command line; `{url}` becomes the remote's URL, `{port}` the port to listen on. */
  argv: string[];
  /**
   * Client mode's remote: `legacy` (the minimal relay: Streamable HTTP of the 2025 revisions
   * only, like most remotes today) or `modern` (our server mode, which also speaks 2026-07-28).
   */
  remote?: "legacy" | "modern";
}

/** Measures `system` once (`urls`: the remotes of client mode). */
export function measureOnce(
  system: FootprintSystem,
  urls: Record<"legacy" | "modern", string>,
  idleMs: number,
): Promise<FootprintSample> {
  const argv = system.argv.map((a) => a.replace("{url}", urls[system.remote ?? "legacy"]));
  return system.mode === "client" ? measureClient(argv, idleMs) : measureServer(argv, idleMs);
}
/** The command line of one of our builds, in `mode`. */
function oursArgv(entry: { command: string; args: string[] }, mode: "client" | "server") {
  const extra = mode === "client"
    ? ["--transport", "streamablehttp", "{url}"]
    : ["--host", "127.0.0.1", "--port", "{port}", "--", ...ECHO_CHILD];
  return [entry.command, ...entry.args, ...extra];
}

/** Our builds in both modes: `name` (`deno run`, the executable, an older build). */
export function oursSystems(
  id: string,
  name: string,
  entry: { command: string; args: string[] },
): FootprintSystem[] {
  const client = oursArgv(entry, "client");
  return [
    { id: `${id}-client`, name: `${name}, client mode`, mode: "client", peer: false, argv: client },
    {
      id: `${id}-client-modern`,
      name: `${name}, client mode, 2026 remote`,
      mode: "client",
      peer: false,
      argv: client,
      remote: "modern",
    },
    {
      id: `${id}-server`,
      name: `${name}, server mode`,
      mode: "server",
      peer: false,
      argv: oursArgv(entry, "server"),
    },
  ];
}

const here = (file: string) => new URL(file, import.meta.url).pathname;
const PYTHON_ORIGINAL = new URL("../../.tools/python/bin/", import.meta.url).pathname;
/** The Python original's version, as installed by `deno task setup`. */
export const PYTHON_ORIGINAL_VERSION = "0.13.0";

/** The peers: the Python original (its venv, and uvx when asked) and mcp-remote. */
function peerSystems(peers: PeerInstall | undefined, uvx: boolean): FootprintSystem[] {
  const python = `${PYTHON_ORIGINAL}mcp-proxy`;
  const systems: FootprintSystem[] = [
    {
      id: "python-client",
      name: `Python mcp-proxy ${PYTHON_ORIGINAL_VERSION}, client mode`,
      mode: "client",
      peer: true,
      argv: [python, "--transport", "streamablehttp", "{url}"],
    },
    {
      id: "python-server",
      name: `Python mcp-proxy ${PYTHON_ORIGINAL_VERSION}, server mode`,
      mode: "server",
      peer: true,
      argv: [python, "--host", "127.0.0.1", "--port", "{port}", "--", ...ECHO_CHILD],
    },
  ];
  if (uvx) {
    systems.push({
      id: "uvx-python-client",
      name: `uvx mcp-proxy@${PYTHON_ORIGINAL_VERSION}, client mode`,
      mode: "client",
      peer: true,
      argv: [
        `${PYTHON_ORIGINAL}uvx`,
        "--offline",
        `mcp-proxy@${PYTHON_ORIGINAL_VERSION}`,
        "--transport",
        "streamablehttp",
        "{url}",
      ],
    });
  }
  if (peers) {
    const remote = ["--allow-http", "--transport", "http-only"];
    systems.push({
      id: "mcp-remote-client",
      name: "mcp-remote 0.15.1 (node), client mode",
      mode: "client",
      peer: true,
      argv: ["node", ...peers.nodeArgs("mcp-remote"), "{url}", ...remote],
    }, {
      id: "npx-mcp-remote-client",
      name: "npx mcp-remote@0.15.1, client mode",
      mode: "client",
      peer: true,
      argv: ["npx", "--yes", "--prefer-offline", "mcp-remote@0.15.1", "{url}", ...remote],
    });
  }
  return systems;
}

/** Every run's samples, by system id, in the order measured. */
export type FootprintResults = Map<string, FootprintSample[]>;

/**
 * Runs `rounds` interleaved rounds of `systems`, the order rotating per round, with our server
 * mode (`remote`, in front of the echo child) as the remote of client mode. A run that fails is
 * reported on stderr and left out.
 */
export async function runFootprint(
  systems: FootprintSystem[],
  remote: { command: string; args: string[] },
  options: { rounds: number; idleMs: number },
): Promise<FootprintResults> {
  const [modern, legacy] = [freePort(), freePort()];
  const relay = [Deno.execPath(), "run", "-A", "--quiet", here("./minimal_relay.ts")];
  const upstreams = [
    oursArgv(remote, "server").map((a) => a.replace("{port}", `${modern}`)),
    [...relay, `${legacy}`, "--", ...ECHO_CHILD],
  ].map((argv) => spawn(argv, "null"));
  for (const upstream of upstreams) tail(upstream.stdout), tail(upstream.stderr);
  const urls = {
    legacy: `http://127.0.0.1:${legacy}/mcp`,
    modern: `http://127.0.0.1:${modern}/mcp`,
  };
  const results: FootprintResults = new Map(systems.map((s) => [s.id, []]));
  try {
    // Both remotes listening, and Deno's caches warm, before the first measured run.
    await measureServer(oursArgv(remote, "server"), 0);
    await measureServer([...relay, "{port}", "--", ...ECHO_CHILD], 0);
    for (let round = 0; round < options.rounds; round++) {
      for (let i = 0; i < systems.length; i++) {
        const system = systems[(i + round) % systems.length];
        try {
          const sample = await measureOnce(system, urls, options.idleMs);
          results.get(system.id)!.push(sample);
          console.error(
            `round ${round + 1} ${system.id}: ${sample.startupMs.toFixed(0)} ms, ` +
              `${sample.treeMb.toFixed(1)} MiB (process ${sample.processMb.toFixed(1)})`,
          );
        } catch (error) {
          console.error(`round ${round + 1} ${system.id} failed: ${error}`);
        }
      }
    }
  } finally {
    await Promise.all(upstreams.map((upstream) => stopGroup(upstream)));
  }
  return results;
}

/** The Markdown table: median (min–max) per system, and each of ours against the best peer. */
export function footprintTable(systems: FootprintSystem[], results: FootprintResults): string {
  const rows = [
    "| system | runs | idle RSS MiB, process tree | idle RSS MiB, process | spawn → initialize answer, ms |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  const mb = (v: number) => v.toFixed(1);
  const ms = (v: number) => v.toFixed(0);
  for (const system of systems) {
    const samples = results.get(system.id) ?? [];
    if (samples.length === 0) {
      rows.push(`| ${system.name} | 0 | failed | | |`);
      continue;
    }
    rows.push(
      `| ${system.name} | ${samples.length} | ${spread(samples.map((s) => s.treeMb), mb)} | ` +
        `${spread(samples.map((s) => s.processMb), mb)} | ` +
        `${spread(samples.map((s) => s.startupMs), ms)} |`,
    );
  }
  const best = (mode: string, key: keyof FootprintSample) => {
    const figures = systems.filter((s) => s.peer && s.mode === mode)
      .map((s) => results.get(s.id) ?? []).filter((r) => r.length > 0)
      .map((r) => median(r.map((x) => x[key])));
    return figures.length ? Math.min(...figures) : NaN;
  };
  rows.push(
    "",
    "| ours ÷ best peer (medians) | idle RSS, tree | spawn → answer |",
    "| --- | ---: | ---: |",
  );
  for (const system of systems.filter((s) => !s.peer)) {
    const samples = results.get(system.id) ?? [];
    if (samples.length === 0) continue;
    const ratio = (key: keyof FootprintSample) => {
      const reference = best(system.mode, key);
      return Number.isNaN(reference)
        ? "—"
        : `${(median(samples.map((s) => s[key])) / reference).toFixed(2)}x`;
    };
    rows.push(`| ${system.name} | ${ratio("treeMb")} | ${ratio("startupMs")} |`);
  }
  return rows.join("\n");
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "5" },
      idle: { type: "string", default: "6" },
      only: { type: "string" },
      bin: { type: "string", default: "dist/mcp-proxy" },
      build: { type: "string", multiple: true, default: [] },
      "no-peers": { type: "boolean", default: false },
      uvx: { type: "boolean", default: false },
      "peers-dir": { type: "string" },
    },
  });
  const ours = proxyCommand();
  const systems = oursSystems("ours", "mcp-proxy (ours, deno run)", ours);
  if (values.bin && isFile(values.bin)) {
    systems.push(...oursSystems("bin", `mcp-proxy (ours, ${values.bin})`, commandFor(values.bin)));
  }
  // Other builds, old against new: NAME=PATH, a main.ts (run with `deno run`) or an executable.
  for (const build of values.build) {
    const [name, path] = build.split(/=(.*)/s);
    systems.push(...oursSystems(name, name, commandFor(path)));
  }
  const peers = values["no-peers"] ? undefined : await installPeers(values["peers-dir"]);
  systems.push(...peerSystems(peers, values.uvx));
  const only = values.only ? new RegExp(values.only) : undefined;
  const chosen = systems.filter((s) => !only || only.test(s.id));
  Deno.addSignalListener("SIGINT", () => void stopAll().finally(() => Deno.exit(130)));
  try {
    const results = await runFootprint(chosen, ours, {
      rounds: Number(values.rounds),
      idleMs: Number(values.idle) * 1000,
    });
    console.log(footprintTable(chosen, results));
  } finally {
    if (peers) await removePeers(peers);
  }
}
