/**
 * What a call allocates, and where: the real application and multiplexer in process (as
 * `in_process.ts` runs them), under V8's sampling heap profiler with every sampled object
 * counted, collected or not. Garbage collection is the largest single item of a call's CPU
 * under load, and it grows with what each call allocates; bytes per call tell a change apart
 * at once where timings need many interleaved rounds.
 *
 * Run: `deno run -A bench/lean/allocations.ts [--era legacy|modern] [--transport mcp|sse]
 * [--in-flight N] [--calls N] [--top N]`. It prints the bytes allocated per call, then the
 * allocating functions by bytes per call; a built-in (a `Map`'s `delete`, a promise's
 * `withResolvers`) is named with its caller. The echo upstream's and the client's own
 * allocations are in the total too (`echo_child.ts`, `clients.ts`, this file): compare totals
 * old against new, sites to find what to change.
 * @module
 */
import { Session } from "node:inspector/promises";
import { parseArgs } from "node:util";
import { callRun, echoServer, proxyApp } from "./in_process.ts";

/** A node of V8's sampling heap profile (`HeapProfiler.SamplingHeapProfileNode`). */
interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Bytes sampled per allocating site, over the whole profile. */
function bytesBySite(head: ProfileNode): Map<string, number> {
  const sites = new Map<string, number>();
  const walk = (node: ProfileNode, caller: string | undefined) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const place = url.replace(/^file:\/\/.*?\/(src|bench)\//, "$1/")
      .replace(/^.*\/registry\.npmjs\.org\//, "npm:");
    const name = `${functionName || "(anonymous)"} ${place}:${lineNumber + 1}`;
    const site = url === "" && caller !== undefined ? `${name} ← ${caller}` : name;
    if (node.selfSize > 0) sites.set(site, (sites.get(site) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child, url === "" ? caller : name);
  };
  walk(head, undefined);
  return sites;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      calls: { type: "string", default: "50000" },
      "in-flight": { type: "string", default: "8" },
      era: { type: "string", default: "legacy" },
      transport: { type: "string", default: "mcp" },
      top: { type: "string", default: "25" },
    },
  });
  const calls = Number(values.calls);
  const app = proxyApp(echoServer());
  const run = await callRun(app, {
    modern: values.era === "modern",
    sse: values.transport === "sse",
    inFlight: Number(values["in-flight"]),
  });
  await run(Math.min(calls, 20_000)); // warm-up: compiled code, grown tables
  const inspector = new Session();
  inspector.connect();
  await inspector.post("HeapProfiler.enable");
  await inspector.post("HeapProfiler.startSampling", {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await run(calls);
  const { profile } = await inspector.post("HeapProfiler.stopSampling") as {
    profile: { head: ProfileNode };
  };
  inspector.disconnect();
  await app.close();
  const sites = [...bytesBySite(profile.head)].sort((a, b) => b[1] - a[1]);
  const total = sites.reduce((sum, [, bytes]) => sum + bytes, 0);
  const shape = `${values.era} era${values.transport === "sse" ? " on /sse" : ""}, ` +
    `${values["in-flight"]} in flight`;
  console.log(`${shape}: ${(total / calls).toFixed(0)} bytes allocated per call`);
  for (const [site, bytes] of sites.slice(0, Number(values.top))) {
    console.log(`${(bytes / calls).toFixed(0).padStart(7)}  ${site}`);
  }
}
