/**
 * A proxy whose own stderr is not being read (issue 16, point 6): a child's stderr is copied
 * to ours asynchronously and dropped (with a count) when it does not fit, so the proxy keeps
 * answering and still ends on SIGTERM.
 */
import assert from "node:assert/strict";
import { proxyCommand } from "../support/paths.ts";
import { freePort } from "../support/ports.ts";
import { INITIALIZE, MCP_HEADERS } from "../support/raw_http.ts";
import { FIXTURE } from "../support/server_proxy.ts";

/** Long enough for anything that is not stuck. */
const PATIENCE_MS = 20_000;

/** POSTs `body` to `url`; rejects when no answer came within {@linkcode PATIENCE_MS}. */
async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(PATIENCE_MS),
  });
  return { response, text: await response.text() };
}

Deno.test("a child flooding stderr that nobody reads does not freeze the proxy", async () => {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const { command, args } = proxyCommand();
  const child = new Deno.Command(command, {
    args: [...args, "--port", String(port), "--", "node", FIXTURE, "--stderr-per-call", "4000000"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    // Piped and not read until the end: the pipe's buffer fills after 64 KiB.
    stderr: "piped",
  }).spawn();
  try {
    let listening = false;
    for (let i = 0; i < 300 && !listening; i++) {
      listening = await fetch(`${base}/status`).then((r) => r.body?.cancel().then(() => true))
        .catch(() => new Promise((resolve) => setTimeout(() => resolve(false), 50))) === true;
    }
    assert.ok(listening, "the proxy never listened");

    const init = await postJson(`${base}/mcp`, INITIALIZE);
    const session = {
      "mcp-session-id": init.response.headers.get("mcp-session-id")!,
      "mcp-protocol-version": "2025-06-18",
    };
    await postJson(`${base}/mcp`, { jsonrpc: "2.0", method: "notifications/initialized" }, session);
    for (let id = 2; id < 5; id++) {
      const call = { jsonrpc: "2.0", id, method: "tools/call", params: { name: "alpha" } };
      const { text } = await postJson(`${base}/mcp`, call, session);
      assert.match(text, /called alpha/);
    }
    const status = await fetch(`${base}/status`, { signal: AbortSignal.timeout(PATIENCE_MS) });
    assert.equal(status.status, 200);
    await status.body?.cancel();

    // Reading stderr at last lets the queue drain and report what it dropped.
    const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!/line\(s\) for stderr were dropped/.test(text)) {
      const { done, value } = await stderr.read();
      if (done) break;
      text += value;
    }
    assert.match(text, /\d+ line\(s\) for stderr were dropped: stderr was not being read/);
    child.kill("SIGTERM");
    const reading = (async () => {
      while (!(await stderr.read()).done);
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      child.status.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), PATIENCE_MS)),
    ]);
    clearTimeout(timer);
    assert.ok(exited, "SIGTERM did not end the proxy");
    await reading;
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await child.status;
    await child.stderr.cancel().catch(() => {});
  }
});
