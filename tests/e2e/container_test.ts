/**
 * The container image, built from the real Dockerfile with podman and run as users run it:
 * the `plain` stage (the default image) and the `node` stage serving the real server-everything
 * as the default server and as a named server from a mounted config file, with the API key in
 * its environment (compose.yaml's second example). An SDK client on the host reaches it
 * through a published port over `/mcp` and `/sse`. Podman must be installed (.ci/run does it):
 * without it this test fails, it is not skipped. It runs on a podman store of its own in
 * .tools/podman/, removed at the end with every image and container in it.
 */
import assert from "node:assert/strict";
import denoConfig from "../../deno.json" with { type: "json" };
import { EVERYTHING_SERVER } from "../support/paths.ts";
import { connectClient } from "../support/mcp_client.ts";
import { survivors } from "../support/pids.ts";
import {
  buildImage,
  ensureBaseImage,
  placeExecutable,
  podman,
  podmanOk,
  progress,
  removePodmanStore,
} from "../support/container.ts";

const PLAIN_IMAGE = "localhost/mcp-proxy-test:plain";
const NODE_IMAGE = "localhost/mcp-proxy-test:node";
const API_KEY = "container-test-key";
/** Where the test's npm tree is mounted: a `node_modules` directory, so Node resolves from it. */
const NODE_MODULES = "/srv/npm/node_modules";
const IN_CONTAINER_EVERYTHING = `${NODE_MODULES}/${
  EVERYTHING_SERVER.slice(EVERYTHING_SERVER.indexOf("@modelcontextprotocol/"))
}`;
const HOST_NODE_MODULES = EVERYTHING_SERVER.slice(
  0,
  EVERYTHING_SERVER.indexOf("/@modelcontextprotocol/"),
);

/** Polls `GET /status` until every server in `names` reports `running`. */
async function waitUntilRunning(base: string, names: string[]): Promise<void> {
  let last = "";
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      const response = await fetch(`${base}/status`);
      last = await response.text();
      const { server_instances } = JSON.parse(last) as {
        server_instances: Record<string, string>;
      };
      if (names.every((name) => server_instances[name] === "running")) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`servers ${names.join(", ")} never all ran; last /status: ${last}`);
}

/** What the test reads of `podman image inspect` (podman puts the health check beside Config). */
interface ImageInspection {
  Config: { User: string; Entrypoint: string[]; Labels: Record<string, string> };
  Healthcheck?: { Test: string[] };
}

Deno.test("container image: podman build of the Dockerfile, served over /mcp and /sse", async (t) => {
  // An earlier run that was killed may have left its store behind.
  await removePodmanStore();
  try {
    await testImages(t);
  } finally {
    await removePodmanStore();
  }
});

/** Builds both images and runs them (see the module's description). */
async function testImages(t: Deno.TestContext): Promise<void> {
  await ensureBaseImage();
  progress("building the executable (deno task build)");
  await placeExecutable();
  await buildImage("plain", PLAIN_IMAGE);
  await buildImage("node", NODE_IMAGE);
  progress("images built; running them");

  await t.step(
    "both images: mcp-proxy entry point, non-root user, health check, labels",
    async () => {
      for (const image of [PLAIN_IMAGE, NODE_IMAGE]) {
        const [{ Config: config, Healthcheck: healthCheck }] = JSON.parse(
          await podmanOk(["image", "inspect", image]),
        ) as ImageInspection[];
        assert.equal(config.User, "mcp");
        assert.deepEqual(config.Entrypoint, ["mcp-proxy"]);
        assert.deepEqual(healthCheck?.Test, ["CMD", "mcp-proxy-healthcheck"]);
        assert.equal(config.Labels["org.opencontainers.image.version"], denoConfig.version);
        assert.match(config.Labels["org.opencontainers.image.source"], /^https:\/\/github\.com\//);
        assert.ok(config.Labels["org.opencontainers.image.licenses"]);

        const version = await podmanOk(["run", "--rm", "--no-healthcheck", image, "--version"]);
        assert.equal(version, `mcp-proxy ${denoConfig.version}`);
        const uid = await podmanOk([
          "run",
          "--rm",
          "--no-healthcheck",
          "--entrypoint",
          "id",
          image,
          "-u",
        ]);
        assert.equal(uid, "10001");
      }
    },
  );

  await t.step("the node image has Node.js 22 (LTS), npm and npx", async () => {
    const run = (command: string, ...args: string[]) =>
      podmanOk(["run", "--rm", "--no-healthcheck", "--entrypoint", command, NODE_IMAGE, ...args]);
    assert.match(await run("node", "--version"), /^v22\.\d+\.\d+$/);
    assert.match(await run("npm", "--version"), /^\d+\.\d+\.\d+$/);
    assert.match(await run("npx", "--version"), /^\d+\.\d+\.\d+$/);
  });

  await t.step("the node image serves server-everything to a client on the host", async (t) => {
    const dir = await Deno.makeTempDir();
    const name = `mcp-proxy-test-${Deno.pid}`;
    try {
      await Deno.writeTextFile(
        `${dir}/servers.json`,
        JSON.stringify({
          mcpServers: {
            everything: { command: "node", args: [IN_CONTAINER_EVERYTHING, "stdio"] },
          },
        }),
      );
      await Deno.writeTextFile(`${dir}/proxy.env`, `MCP_PROXY_API_KEY=${API_KEY}\n`);
      await podmanOk([
        "run",
        "--detach",
        "--name",
        name,
        // A host port podman picks: one free now could be taken by a test running beside this.
        "--publish",
        "127.0.0.1::8096",
        "--env-file",
        `${dir}/proxy.env`,
        "--volume",
        `${dir}/servers.json:/config/servers.json:ro`,
        "--volume",
        `${HOST_NODE_MODULES}:${NODE_MODULES}:ro`,
        NODE_IMAGE,
        "--port",
        "8096",
        "--host",
        "0.0.0.0",
        "--named-server-config",
        "/config/servers.json",
        "--",
        "node",
        IN_CONTAINER_EVERYTHING,
        "stdio",
      ]);
      const base = `http://${await podmanOk(["port", name, "8096/tcp"])}`;
      await waitUntilRunning(base, ["default", "everything"]);

      await t.step("without the API key from the env file: 401", async () => {
        const response = await fetch(`${base}/mcp`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        });
        await response.body?.cancel();
        assert.equal(response.status, 401);
      });

      const headers = { Authorization: `Bearer ${API_KEY}` };
      for (const path of ["", "/servers/everything"]) {
        for (const kind of ["mcp", "sse"] as const) {
          await t.step(`echo through ${path}/${kind}`, async () => {
            const client = await connectClient(`${base}${path}/${kind}`, kind, { headers });
            try {
              const result = await client.callTool({ name: "echo", arguments: { message: kind } });
              assert.deepEqual(result.content, [{ type: "text", text: `Echo: ${kind}` }]);
            } finally {
              await client.close();
            }
          });
        }
      }

      await t.step("every process in the container runs as the image's user", async () => {
        const rows = (await podmanOk(["top", name, "user", "huser", "args"])).split("\n").slice(1);
        assert.ok(rows.length >= 3, `proxy and two servers expected:\n${rows.join("\n")}`);
        for (const row of rows) assert.match(row, /^mcp\s+10001\s/, row);
      });

      await t.step(
        "the HEALTHCHECK passes, and fails against a port nothing listens on",
        async () => {
          const healthy = await podman(["healthcheck", "run", name]);
          assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
          const wrongPort = await podman([
            "exec",
            "--env",
            "MCP_PROXY_HEALTHCHECK_PORT=1",
            name,
            "mcp-proxy-healthcheck",
          ]);
          assert.equal(wrongPort.code, 1);
          assert.match(wrongPort.stderr, /cannot connect to 127\.0\.0\.1:1/);
        },
      );

      await t.step(
        "podman stop (SIGTERM): a clean exit before the 5 s SIGKILL, nothing left",
        async () => {
          const hostPids = (await podmanOk(["top", name, "hpid"])).split("\n").slice(1).map(Number);
          await podmanOk(["stop", "--time", "5", name]);
          // 137 would be the SIGKILL podman sends when SIGTERM did not end the proxy in time.
          assert.equal(await podmanOk(["inspect", name, "--format", "{{.State.ExitCode}}"]), "0");
          assert.deepEqual(await survivors(hostPids), []);
          await podmanOk(["rm", name]);
          assert.equal(
            await podmanOk(["ps", "--all", "--quiet", "--filter", `name=^${name}$`]),
            "",
          );
        },
      );
    } finally {
      await podman(["rm", "--force", "--time", "0", name]);
      await Deno.remove(dir, { recursive: true });
    }
  });
}
