/**
 * CORS and Origin checks in a real browser: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) loads a page from another origin on 127.0.0.1, and that page talks to the
 * proxy with `fetch` and `EventSource`, as a web MCP client would.
 * @module
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { EVERYTHING_SERVER, npmPath, ROOT } from "../support/paths.ts";
import { type RunningProcess, startProxy } from "../support/process.ts";

/** The parts of playwright-core's API used here (it is loaded with `require`, untyped). */
interface Page {
  goto(url: string): Promise<unknown>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  close(): Promise<void>;
}
interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
interface Chromium {
  launch(options: { executablePath: string; args: string[]; timeout: number }): Promise<Browser>;
}

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** The `serverInfo.name` of @modelcontextprotocol/server-everything, relayed by the proxy. */
const EVERYTHING_NAME = "mcp-servers/everything";

/** A name the browser resolves to 127.0.0.1, as a DNS-rebinding attacker's would be. */
const REBOUND_HOST = "rebound.test";

/** Flags that keep Chromium off the (closed) network and quiet; playwright adds a fresh profile. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  `--host-resolver-rules=MAP ${REBOUND_HOST} 127.0.0.1`,
];

/** What the page's functions answer (tests/browser/page.html). */
interface FetchOutcome {
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
}
interface SessionOutcome {
  ok: boolean;
  steps: string[];
  error?: string;
  sessionId?: string | null;
  protocolVersion?: string;
  serverName?: string | null;
  tools?: string[];
  listError?: unknown;
  endpoint?: string | null;
}
/** The page's functions; `evaluate` callbacks run in the page, so they reach them as globals. */
interface PageApi {
  streamableHttp(url: string): Promise<SessionOutcome>;
  legacySse(url: string): Promise<SessionOutcome>;
  tryFetch(url: string, init?: RequestInit): Promise<FetchOutcome>;
  tryInitialize(url: string): Promise<FetchOutcome>;
}

/** Serves the test page on 127.0.0.1 at a port of its own, that is, on an origin of its own. */
function servePage(html: string): Deno.HttpServer<Deno.NetAddr> & { origin: string } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      new URL(request.url).pathname === "/"
        ? new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } })
        : new Response("Not Found", { status: 404 }),
  );
  return Object.assign(server, { origin: `http://127.0.0.1:${server.addr.port}` });
}

Deno.test("a page on another origin reaches the proxy only when --allow-origin names it", async (t) => {
  const html = await Deno.readTextFile(`${ROOT}tests/browser/page.html`);
  const allowed = servePage(html);
  const disallowed = servePage(html);
  let proxy: RunningProcess | undefined;
  let browser: Browser | undefined;
  try {
    proxy = startProxy([
      "--port",
      "0",
      "--allow-origin",
      allowed.origin,
      "--",
      "node",
      EVERYTHING_SERVER,
      "stdio",
    ]);
    // Start-up lines: "Serving MCP Servers via Streamable HTTP:" then "  - http://127.0.0.1:PORT/mcp".
    const [, base] = await proxy.waitForStderr(/ - (http:\/\/127\.0\.0\.1:\d+)\/mcp$/m, 30_000);
    const mcpUrl = `${base}/mcp`;
    const sseUrl = `${base}/sse`;

    const { chromium } = createRequire(import.meta.url)(
      npmPath("playwright-core/index.js"),
    ) as { chromium: Chromium };
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
    const allowedPage = await browser.newPage();
    await allowedPage.goto(`${allowed.origin}/`);
    const disallowedPage = await browser.newPage();
    await disallowedPage.goto(`${disallowed.origin}/`);

    await t.step("allowed origin: Streamable HTTP session over fetch", async () => {
      const outcome = await allowedPage.evaluate(
        (url) => (globalThis as unknown as PageApi).streamableHttp(url),
        mcpUrl,
      );
      assert.ok(outcome.ok, JSON.stringify(outcome));
      assert.deepEqual(outcome.steps, [
        "initialize 200",
        "notifications/initialized 202",
        "tools/list 200",
        "DELETE 200",
      ]);
      // Readable only because the proxy lists it in Access-Control-Expose-Headers.
      assert.match(outcome.sessionId ?? "", /^[\x21-\x7e]{16,}$/);
      assert.equal(outcome.serverName, EVERYTHING_NAME);
      assert.equal(outcome.listError, null);
      assert.ok(outcome.tools?.includes("echo"), JSON.stringify(outcome.tools));
    });

    await t.step("allowed origin: legacy SSE over EventSource and fetch", async () => {
      const outcome = await allowedPage.evaluate(
        (url) => (globalThis as unknown as PageApi).legacySse(url),
        sseUrl,
      );
      assert.ok(outcome.ok, JSON.stringify(outcome));
      assert.match(outcome.endpoint ?? "", /\/messages\/\?session_id=[0-9a-f]{32}$/);
      assert.deepEqual(outcome.steps, [
        "initialize 202",
        "notifications/initialized 202",
        "tools/list 202",
      ]);
      assert.equal(outcome.serverName, EVERYTHING_NAME);
      assert.ok(outcome.tools?.includes("echo"), JSON.stringify(outcome.tools));
    });

    await t.step("disallowed origin: the browser blocks fetch and EventSource", async () => {
      const initialize = await disallowedPage.evaluate(
        (url) => (globalThis as unknown as PageApi).tryInitialize(url),
        mcpUrl,
      );
      assert.equal(initialize.ok, false, JSON.stringify(initialize));
      assert.match(initialize.error ?? "", /^TypeError/);
      // A simple GET (no preflight) is sent, but its answer is withheld from the page.
      const status = await disallowedPage.evaluate(
        (url) => (globalThis as unknown as PageApi).tryFetch(url),
        `${base}/status`,
      );
      assert.equal(status.ok, false, JSON.stringify(status));
      assert.match(status.error ?? "", /^TypeError/);
      const sse = await disallowedPage.evaluate(
        (url) => (globalThis as unknown as PageApi).legacySse(url),
        sseUrl,
      );
      assert.deepEqual(sse, { ok: false, steps: [], endpoint: null, error: sse.error });
      assert.match(sse.error ?? "", /^EventSource error/);
      // The same page's origin is fine for the proxy's own pages (a control for the above).
      const control = await allowedPage.evaluate(
        (url) => (globalThis as unknown as PageApi).tryFetch(url),
        `${base}/status`,
      );
      assert.equal(control.ok, true, JSON.stringify(control));
    });

    await t.step(
      "DNS rebinding: a same-origin request with a foreign Origin gets 403",
      async () => {
        // The attacker's name now resolves to 127.0.0.1: its page and the proxy share an origin,
        // so CORS does not apply, and only the proxy's Origin check stands in the way.
        const port = new URL(base).port;
        const rebound = await browser!.newPage();
        await rebound.goto(`http://${REBOUND_HOST}:${port}/status`);
        const outcome = await rebound.evaluate(async () => {
          try {
            const response = await fetch("/mcp", {
              method: "POST",
              headers: {
                accept: "application/json, text/event-stream",
                "content-type": "application/json",
              },
              body: JSON.stringify({
                jsonrpc: "2.0",
                id: 1,
                method: "initialize",
                params: {
                  protocolVersion: "2025-06-18",
                  capabilities: {},
                  clientInfo: { name: "rebound", version: "1.0.0" },
                },
              }),
            });
            return { ok: true, status: response.status, body: await response.text() };
          } catch (error) {
            return { ok: false, error: String(error) };
          }
        }, undefined);
        assert.equal(outcome.ok, true, JSON.stringify(outcome));
        assert.equal(outcome.status, 403, JSON.stringify(outcome));
        await rebound.close();
      },
    );
  } finally {
    await browser?.close();
    await proxy?.stop();
    await Promise.all([allowed.shutdown(), disallowed.shutdown()]);
  }
});
