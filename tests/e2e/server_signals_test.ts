/**
 * Shutdown of server mode on SIGTERM, SIGINT and SIGHUP: open streams end, the proxy exits 0, and
 * no process of any server is left, grandchildren included, also for a server that ignores
 * stdin EOF and must be signalled.
 */
import assert from "node:assert/strict";
import { alive, readPids, survivors } from "../support/pids.ts";
import { SseReader } from "../support/raw_http.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  Deno.test(`${signal}: streams end, exit 0, no server process or grandchild left`, async () => {
    const dir = await Deno.makeTempDir();
    const pids: number[] = [];
    try {
      await using proxy = await startServerProxy([
        "--named-server",
        "stubborn",
        `node ${FIXTURE} --grandchild ${dir}/stubborn --ignore-stdin-eof`,
        "--",
        "node",
        FIXTURE,
        "--grandchild",
        `${dir}/default`,
      ]);
      pids.push(...await readPids(`${dir}/default`), ...await readPids(`${dir}/stubborn`));
      assert.equal(pids.length, 4);
      for (const pid of pids) assert.ok(await alive(pid), `${pid} runs before the signal`);

      const events = new SseReader((await fetch(proxy.sse.default)).body!);
      assert.equal((await events.next())?.event, "endpoint");

      const status = await proxy.stop(signal);
      assert.equal(status.code, 0, proxy.process.stderr);
      assert.equal(await events.next(), undefined, "the open SSE stream ended");
      assert.match(proxy.process.stderr, new RegExp(`Received ${signal}; shutting down`));
      assert.deepEqual(await survivors(pids), [], proxy.process.stderr);
    } finally {
      for (const pid of await survivors(pids)) Deno.kill(pid, "SIGKILL");
      await Deno.remove(dir, { recursive: true });
    }
  });
}
