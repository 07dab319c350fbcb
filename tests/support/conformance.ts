/**
 * Running the MCP conformance suite (`@modelcontextprotocol/conformance`, installed in
 * tests/npm, run under Deno) against a server URL for one requirement set, and the fixture
 * servers it is measured on: spoken to directly over HTTP, and through mcp-proxy.
 * @module
 */
import { npmPath, ROOT } from "./paths.ts";
import { RunningProcess } from "./process.ts";
import { startServerProxy } from "./server_proxy.ts";

/** The spec revisions whose server requirement sets the suite runs. */
export const REQUIREMENT_SETS = ["2025-11-25", "2026-07-28"] as const;
/** One spec revision's requirement set. */
export type RequirementSet = typeof REQUIREMENT_SETS[number];

/** The suite's entry script. */
export const CONFORMANCE_CLI: string = npmPath("@modelcontextprotocol/conformance/dist/index.js");

/** How one suite run went: each scenario's verdict. */
export interface SuiteResult {
  readonly requirements: RequirementSet;
  /** Scenarios the set scores, by name: true when every check passed. */
  readonly scored: ReadonlyMap<string, boolean>;
  /** Scenarios run for visibility only (extensions, pending, added after release). */
  readonly notScored: ReadonlyMap<string, boolean>;
  /** The suite's own output, for diagnosing a failure. */
  readonly output: string;
}

const SUMMARY_LINE = /^([✓✗]) (\S+): \d+ passed, \d+ failed$/gm;
const NOT_SCORED_LINE = /^ {2}[✓✗] (\S+) \(/gm;

/** Reads the verdicts from the suite's summary (its "Not scored" list names the unscored). */
export function parseSummary(requirements: RequirementSet, output: string): SuiteResult {
  const summary = output.slice(output.lastIndexOf("=== SUMMARY ==="));
  const verdicts = new Map(
    [...summary.matchAll(SUMMARY_LINE)].map(([, mark, name]) => [name, mark === "✓"]),
  );
  const unscoredNames = new Set([...summary.matchAll(NOT_SCORED_LINE)].map(([, name]) => name));
  if (verdicts.size === 0) throw new Error(`conformance suite printed no summary:\n${output}`);
  const pick = (scored: boolean) =>
    new Map([...verdicts].filter(([name]) => unscoredNames.has(name) !== scored));
  return { requirements, scored: pick(true), notScored: pick(false), output };
}

/**
 * Runs the suite with `args`, its result files in a temporary directory (removed afterwards);
 * resolves with everything it printed.
 */
async function runConformance(args: readonly string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mcp-conformance-" });
  try {
    const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CONFORMANCE_CLI, ...args, "--output-dir", dir],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const decoder = new TextDecoder();
    return decoder.decode(stdout) + decoder.decode(stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the suite's server scenarios of `requirements` against `url`. */
export async function runSuite(
  url: string,
  requirements: RequirementSet,
  options: { scenarioTimeoutMs?: number } = {},
): Promise<SuiteResult> {
  const output = await runConformance([
    "server",
    "--url",
    url,
    "--requirements",
    requirements,
    "--timeout",
    // A 2026-07-28 scenario through a legacy child may wait 5 s for each call the scenario
    // before it dropped while its question was open (see core/turns.ts): 15 s was too short
    // for two of them on a loaded machine.
    String(options.scenarioTimeoutMs ?? 30_000),
  ]);
  return parseSummary(requirements, output);
}

/** The outcome of one client scenario: whether it passed, and what the suite printed. */
export interface ClientScenarioResult {
  readonly passed: boolean;
  readonly output: string;
}

/**
 * Runs one of the suite's client scenarios at `specVersion` with `command` as the client
 * (the suite appends the scenario server's URL).
 */
export async function runClientScenario(
  scenario: string,
  command: string,
  specVersion: RequirementSet,
): Promise<ClientScenarioResult> {
  const output = await runConformance([
    "client",
    "--command",
    command,
    "--scenario",
    scenario,
    "--spec-version",
    specVersion,
    // Sign-ins start several processes each: slow on a loaded machine.
    "--timeout",
    "90000",
  ]);
  return { passed: /OVERALL: PASSED/.test(output), output };
}

/** A conformance fixture server (tests/fixtures/conformance). */
export interface Fixture {
  readonly name: string;
  /** The command that serves it over stdio. */
  readonly stdio: readonly string[];
}

const FIXTURE_DIR = `${ROOT}tests/fixtures/conformance/`;

/** The fixtures: SDK 1.x legacy, SDK v2 dual-era, and SDK v2 refusing legacy. */
export const FIXTURES: readonly Fixture[] = [
  { name: "legacy", stdio: ["node", `${FIXTURE_DIR}legacy.mjs`] },
  { name: "dual-era", stdio: ["node", `${FIXTURE_DIR}dual_era.mjs`] },
  { name: "modern-only", stdio: ["node", `${FIXTURE_DIR}dual_era.mjs`, "--modern-only"] },
];

/** A running server and the `/mcp` URL it serves. */
export interface ServedUrl extends AsyncDisposable {
  readonly url: string;
}

/** Starts `fixture` over Streamable HTTP on 127.0.0.1 (a free port). */
export async function serveFixtureDirectly(fixture: Fixture): Promise<ServedUrl> {
  const [command, ...args] = fixture.stdio;
  const server = new RunningProcess(command, [...args, "--port", "0"]);
  try {
    const [, url] = await server.waitForStderr(/listening on (http:\S+)\n/);
    return { url, [Symbol.asyncDispose]: async () => void await server.stop() };
  } catch (error) {
    await server.stop("SIGKILL");
    throw error;
  }
}

/** Starts mcp-proxy in server mode in front of `fixture` spoken to over stdio. */
export async function serveFixtureThroughProxy(fixture: Fixture): Promise<ServedUrl> {
  const proxy = await startServerProxy(["--port", "0", "--", ...fixture.stdio]);
  return { url: proxy.mcp.default, [Symbol.asyncDispose]: async () => void await proxy.stop() };
}

/** The two ways a fixture is measured. */
export const ROUTES = {
  direct: serveFixtureDirectly,
  proxy: serveFixtureThroughProxy,
} as const;
/** How the suite reaches the fixture. */
export type Route = keyof typeof ROUTES;

/** Serves `fixture` by `route` and runs one requirement set against it. */
export async function measure(
  fixture: Fixture,
  route: Route,
  requirements: RequirementSet,
): Promise<SuiteResult> {
  await using served = await ROUTES[route](fixture);
  return await runSuite(served.url, requirements);
}

/** One fixture and requirement set, measured directly and through the proxy. */
export interface Cell {
  readonly fixture: Fixture;
  readonly requirements: RequirementSet;
  readonly direct: SuiteResult;
  readonly proxy: SuiteResult;
  /** Scored scenarios that pass directly but not through the proxy. */
  readonly lost: string[];
}

/** The result of a run that never happened: every scenario of `like` failed, for `reason`. */
function failedRun(like: SuiteResult, reason: string): SuiteResult {
  const failed = (verdicts: ReadonlyMap<string, boolean>) =>
    new Map([...verdicts.keys()].map((name) => [name, false]));
  return {
    requirements: like.requirements,
    scored: failed(like.scored),
    notScored: failed(like.notScored),
    output: reason,
  };
}

/**
 * Measures `fixture` against `requirements`, directly and through the proxy at once. A proxy
 * that cannot start in front of the fixture fails every scenario (its error is the output).
 */
export async function measureCell(fixture: Fixture, requirements: RequirementSet): Promise<Cell> {
  const [direct, proxy] = await Promise.allSettled([
    measure(fixture, "direct", requirements),
    measure(fixture, "proxy", requirements),
  ]);
  if (direct.status === "rejected") throw direct.reason;
  const proxied = proxy.status === "fulfilled"
    ? proxy.value
    : failedRun(direct.value, `the proxy did not start: ${proxy.reason?.message ?? proxy.reason}`);
  return {
    fixture,
    requirements,
    direct: direct.value,
    proxy: proxied,
    lost: missing(direct.value, proxied),
  };
}

/** `passed/total` of the scored scenarios. */
export function score(result: SuiteResult): string {
  const passed = [...result.scored.values()].filter(Boolean).length;
  return `${passed}/${result.scored.size}`;
}

/** Scored scenarios that pass in `reference` but not in `result`, sorted. */
export function missing(reference: SuiteResult, result: SuiteResult): string[] {
  return [...reference.scored]
    .filter(([name, passed]) => passed && result.scored.get(name) !== true)
    .map(([name]) => name)
    .sort();
}
