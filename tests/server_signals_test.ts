/**
 * Shutdown of server mode on SIGTERM and SIGINT: open streams end, the proxy exits 0, and
 * no process of any server is left, grandchildren included, also for a server that ignores
 * stdin EOF and must be signalled.
 */
import assert from "node:assert/strict";
import { SseReader } from "./support/raw_http.ts";
import { FIXTURE, startServerProxy } from "./support/server_proxy.ts";

/** Whether `pid` is a live process (a zombie awaiting its reaper counts as gone). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function readPids(file: string): Promise<number[]> {
  for (let i = 0; i < 200; i++) {
    const text = await Deno.readTextFile(file).catch(() => "");
    if (text) return text.split(" ").map(Number);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${file} was never written`);
}

/** Waits up to a few seconds for `pids` to be gone; returns the ones still alive. */
async function survivors(pids: number[]): Promise<number[]> {
  let left = pids;
  for (let i = 0; i < 100 && left.length > 0; i++) {
    left = (await Promise.all(left.map(async (pid) => await alive(pid) ? [pid] : []))).flat();
    if (left.length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return left;
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
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
