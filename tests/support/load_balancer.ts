/**
 * Scale-out in tests: three mcp-proxy instances (ids, ports, one shared state key) behind HAProxy
 * or nginx started with the recipes in deploy/, their addresses filled in, everything waited for
 * until ready and stopped again on dispose. The instance ids are their ports, so that the
 * `--peer-url` template `http://127.0.0.1:{instance}` finds each one.
 * @module
 */
import { freePort } from "./ports.ts";
import { eventually } from "./eventually.ts";
import { ROOT } from "./paths.ts";
import { RunningProcess, startProxy } from "./process.ts";

/** The balancers and recipes: HAProxy routing by instance, HAProxy round robin, nginx. */
export type BalancerKind = "haproxy" | "haproxy-round-robin" | "nginx";

/** The recipe file of each balancer, under deploy/. */
export const RECIPES: Readonly<Record<BalancerKind, string>> = {
  haproxy: `${ROOT}deploy/haproxy.cfg`,
  "haproxy-round-robin": `${ROOT}deploy/haproxy-round-robin.cfg`,
  nginx: `${ROOT}deploy/nginx.conf`,
};

/** Where Debian installs `name` (/usr/sbin, which may be missing from PATH), else `name`. */
function sbin(name: string): string {
  try {
    Deno.statSync(`/usr/sbin/${name}`);
    return `/usr/sbin/${name}`;
  } catch {
    return name;
  }
}

/** The stdio server every instance runs unless told otherwise: the era fixture. */
export const ERA_FIXTURE_ARGS: readonly string[] = [
  "--",
  "node",
  `${ROOT}tests/fixtures/era_legacy_server.mjs`,
];

/** How {@linkcode startScaleOut} sets things up. */
export interface ScaleOutOptions {
  /** Which balancer and recipe. */
  balancer: BalancerKind;
  /** Whether the instances forward to each other (`--peer-url`). */
  forward?: boolean;
  /** `--drain-timeout` of every instance, seconds; absent: not given. */
  drainTimeoutS?: number;
  /** More options of every instance. */
  extraArgs?: readonly string[];
  /** The server command after the options (with its `--`); the era fixture when absent. */
  server?: readonly string[];
}

/** One running mcp-proxy instance. */
export interface ProxyInstance {
  /** Its `--instance-id`: its port, as text. */
  readonly id: string;
  /** `http://127.0.0.1:port`. */
  readonly base: string;
  /** The process. */
  readonly process: RunningProcess;
}

/** Instances behind a balancer. */
export interface ScaleOut {
  /** The balancer's `http://127.0.0.1:port`. */
  readonly base: string;
  /** Its `/mcp` URL. */
  readonly mcp: string;
  /** Its `/sse` URL. */
  readonly sse: string;
  /** The instances, in the recipe's order (1, 2, 3). */
  readonly instances: readonly ProxyInstance[];
  /** The balancer's process. */
  readonly balancer: RunningProcess;
  /** Stops the balancer and every instance. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The instance id a session id names: what comes before its first `.`. */
export function instanceOfSession(sessionId: string | undefined): string | undefined {
  const dot = sessionId?.indexOf(".") ?? -1;
  return dot > 0 ? sessionId!.slice(0, dot) : undefined;
}

/** The variables the recipes are filled in with, for a balancer on `port`. */
export function recipeValues(
  port: number,
  instances: readonly { id: string; base: string }[],
): Record<string, string> {
  const values: Record<string, string> = {
    MCP_LB_BIND: `127.0.0.1:${port}`,
    MCP_LB_LISTEN: `127.0.0.1:${port}`,
  };
  instances.forEach((instance, i) => {
    values[`MCP_LB_${i + 1}_ID`] = instance.id;
    values[`MCP_LB_${i + 1}_ADDR`] = new URL(instance.base).host;
  });
  return values;
}

/** `template` with each `${NAME}` replaced by `values[NAME]`; throws on one it lacks. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`no value for the placeholder \${${name}}`);
    return values[name];
  });
}

/** The environment every instance shares: the key sealing request states. */
function sharedEnvironment(): Record<string, string> {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return {
    MCP_PROXY_STATE_KEY: Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""),
  };
}

/** Resolves once `GET url/ready` answers 200. */
export async function waitUntilReady(base: string, what: string, ms = 30_000): Promise<void> {
  await eventually(
    async () => {
      const response = await fetch(`${base}/ready`).catch(() => undefined);
      await response?.body?.cancel();
      return response?.status === 200;
    },
    `${what} is ready`,
    ms,
  );
}

/** Starts `count` instances with `options`, and waits until each is ready. */
export async function startInstances(
  count: number,
  options: Omit<ScaleOutOptions, "balancer"> = {},
): Promise<ProxyInstance[]> {
  const env = sharedEnvironment();
  const instances = Array.from({ length: count }, () => {
    const port = freePort();
    const args = ["--port", String(port), "--instance-id", String(port)];
    if (options.forward) args.push("--peer-url", "http://127.0.0.1:{instance}");
    if (options.drainTimeoutS !== undefined) {
      args.push("--drain-timeout", String(options.drainTimeoutS));
    }
    args.push(...options.extraArgs ?? [], ...options.server ?? ERA_FIXTURE_ARGS);
    const process = startProxy(args, { env });
    return { id: String(port), base: `http://127.0.0.1:${port}`, process };
  });
  try {
    await Promise.all(
      instances.map((instance) =>
        Promise.race([
          waitUntilReady(instance.base, `instance ${instance.id}`),
          instance.process.exited.then((status) => {
            throw new Error(
              `instance ${instance.id} exited (${status.code}):\n${instance.process.stderr}`,
            );
          }),
        ])
      ),
    );
  } catch (error) {
    await stopInstances(instances);
    throw error;
  }
  return instances;
}

/** Stops every instance: SIGINT (no drain), SIGKILL after 10 s. */
export async function stopInstances(instances: readonly ProxyInstance[]): Promise<void> {
  await Promise.all(instances.map(async ({ process }) => {
    const timer = setTimeout(() => process.stop("SIGKILL"), 10_000);
    await process.stop("SIGINT");
    clearTimeout(timer);
  }));
}

/** Starts `kind` on a free port in front of `instances`, with its recipe filled in. */
export async function startBalancer(
  kind: BalancerKind,
  instances: readonly ProxyInstance[],
): Promise<{ base: string; process: RunningProcess; dispose(): Promise<void> }> {
  const port = freePort();
  const values = recipeValues(port, instances);
  const dir = await Deno.makeTempDir({ prefix: "mcp-proxy-lb-" });
  let process: RunningProcess;
  if (kind === "nginx") {
    const config = `${dir}/nginx.conf`;
    await Deno.writeTextFile(
      config,
      renderTemplate(await Deno.readTextFile(RECIPES.nginx), values),
    );
    // -g: what a packaged nginx takes from its own main config (the pid file, the foreground).
    process = new RunningProcess(sbin("nginx"), [
      "-p",
      dir,
      "-c",
      config,
      "-g",
      `daemon off; pid ${dir}/nginx.pid;`,
    ]);
  } else {
    process = new RunningProcess(
      sbin("haproxy"),
      ["-f", RECIPES[kind], "-db"],
      { env: values },
    );
  }
  const base = `http://127.0.0.1:${port}`;
  const dispose = async () => {
    await process.stop();
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await Promise.race([
      waitUntilReady(base, `${kind} in front of the instances`),
      process.exited.then((status) => {
        throw new Error(`${kind} exited (${status.code}):\n${process.stderr}`);
      }),
    ]);
  } catch (error) {
    await dispose();
    throw error;
  }
  return { base, process, dispose };
}

/** Three instances behind `options.balancer`, ready; dispose stops them all. */
export async function startScaleOut(options: ScaleOutOptions): Promise<ScaleOut> {
  const instances = await startInstances(3, options);
  let balancer;
  try {
    balancer = await startBalancer(options.balancer, instances);
  } catch (error) {
    await stopInstances(instances);
    throw error;
  }
  return {
    base: balancer.base,
    mcp: `${balancer.base}/mcp`,
    sse: `${balancer.base}/sse`,
    instances,
    balancer: balancer.process,
    async [Symbol.asyncDispose]() {
      await balancer.dispose();
      await stopInstances(instances);
    },
  };
}
