/**
 * Era detection's deadlines: each probe's, the whole detection's, and what the errors say.
 * The deadlines are shortened here; the remote is a fake `fetch`.
 */
import assert from "node:assert/strict";
import {
  DetectionError,
  DetectionTimeout,
  type DetectOptions,
  detectRemote,
} from "../../../../src/client/remote/detect.ts";

type Answer = (url: string, init: RequestInit) => Promise<Response>;

const options = (answer: Answer, more: Partial<DetectOptions> = {}): DetectOptions => ({
  url: "http://remote.test/mcp",
  headers: {},
  clientInfo: { name: "test", version: "1" },
  fetch: (url, init) => answer(String(url), init ?? {}),
  log: { debug() {}, info() {}, warning() {}, error() {} },
  probeTimeoutMs: 100,
  detectionTimeoutMs: 1_000,
  ...more,
});

const later = (ms: number, response: () => Response) =>
  new Promise<Response>((resolve) => setTimeout(() => resolve(response()), ms));
/** Never settles, whatever the signal says (as a fetch waiting for a sign-in). */
const never = () => new Promise<Response>(() => {});
const methodOf = (init: RequestInit) =>
  init.body ? JSON.parse(String(init.body)).method : init.method ?? "GET";

Deno.test("detection: a probe without an answer is noted and the next one tried", async () => {
  const error = await detectRemote(
    options((_, init) =>
      methodOf(init) === "server/discover"
        ? never()
        : Promise.resolve(new Response(null, { status: 404 }))
    ),
  ).catch((e) => e);
  assert.ok(error instanceof DetectionTimeout, String(error));
  assert.equal(
    error.message,
    "a 2026-07-28 server/discover got no answer within 100 ms; " +
      "a legacy Streamable HTTP initialize got HTTP 404; a legacy HTTP+SSE GET got HTTP 404",
  );
});

Deno.test("detection: probes each answered in time but together too slow hit the whole deadline", async () => {
  const error = await detectRemote(options(
    () => later(300, () => new Response(null, { status: 404 })),
    { probeTimeoutMs: 1_000, detectionTimeoutMs: 700 },
  )).catch((e) => e);
  assert.ok(error instanceof DetectionTimeout, String(error));
  assert.match(error.message, /^a 2026-07-28 server\/discover got HTTP 404; /);
  assert.match(error.message, /was still unanswered after 700 ms$/);
});

Deno.test("detection: with --transport streamablehttp, a silent remote is no legacy one", async () => {
  const error = await detectRemote(options(never, { transport: "streamablehttp" })).catch((e) => e);
  assert.ok(error instanceof DetectionTimeout, String(error));
});

Deno.test("detection: a redirect to another origin ends it with the reason", async () => {
  const error = await detectRemote(options(() =>
    Promise.resolve(
      new Response(null, { status: 307, headers: { location: "http://elsewhere.test/mcp" } }),
    )
  )).catch((e) => e);
  assert.ok(error instanceof DetectionError, String(error));
  assert.match(error.message, /^a 2026-07-28 server\/discover: .*redirected to http:\/\/elsewhere/);
});
