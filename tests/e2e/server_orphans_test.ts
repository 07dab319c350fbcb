/**
 * A proxy that is SIGKILLed (issue 16, point 14): on Linux its stdio servers die with it,
 * even one that ignores stdin EOF. (Their own children are not covered: see README, Limits.)
 */
import assert from "node:assert/strict";
import { alive, readPids, survivors } from "../support/pids.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";

Deno.test({
  name: "SIGKILL of the proxy ends a server that ignores stdin EOF (Linux)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const pids: number[] = [];
    try {
      const proxy = await startServerProxy([
        "--",
        "node",
        FIXTURE,
        "--grandchild",
        `${dir}/pids`,
        "--ignore-stdin-eof",
      ]);
      pids.push(...await readPids(`${dir}/pids`));
      const [server] = pids;
      assert.ok(await alive(server));
      await proxy.stop("SIGKILL");
      assert.deepEqual(await survivors([server]), [], "the server outlived the proxy");
    } finally {
      for (const pid of await survivors(pids)) Deno.kill(pid, "SIGKILL");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
