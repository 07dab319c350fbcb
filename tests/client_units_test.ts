/**
 * Client mode's small parts in isolation: stdin framing, the token cache, error triage.
 */
import assert from "node:assert/strict";
import {
  basicClientAuthorization,
  ClientCredentialsTokens,
  fetchWithBearerToken,
} from "../src/client/oauth.ts";
import { classifySendError, classifyStreamError } from "../src/client/remote.ts";
import { readMessages } from "../src/client/stdio.ts";
import { SseError, StreamableHTTPError } from "../src/deps.ts";
import type { Logger } from "../src/log.ts";

const log: Logger = { debug() {}, info() {}, warning() {}, error() {} };

function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c));
}

Deno.test("readMessages: lines split across chunks, CRLF, blank lines, no final newline", async () => {
  const euro = new TextEncoder().encode('{"jsonrpc":"2.0","method":"€"}\n');
  const messages: unknown[] = [];
  const errors: unknown[] = [];
  await readMessages(
    streamOf([
      '{"jsonrpc":"2.0",',
      '"id":1,"method":"a"}\r\n\n   \n',
      euro.slice(0, 28), // splits the three bytes of "€"
      euro.slice(28),
      "oops\n",
      '{"jsonrpc":"2.0","id":2,"method":"b"}',
    ]),
    (message) => messages.push(message),
    (error) => errors.push(error),
  );
  assert.deepEqual(messages, [
    { jsonrpc: "2.0", id: 1, method: "a" },
    { jsonrpc: "2.0", method: "€" },
    { jsonrpc: "2.0", id: 2, method: "b" },
  ]);
  assert.equal(errors.length, 1);
  assert.deepEqual((errors[0] as { id: null; error: { code: number } }).error.code, -32700);
});

Deno.test("ClientCredentialsTokens: shared request, reuse until near expiry, renew after invalidate", async () => {
  let now = 0;
  let issued = 0;
  const bodies: string[] = [];
  const authorizations: (string | null)[] = [];
  const tokenEndpoint: typeof fetch = async (_input, init) => {
    bodies.push(String(init?.body));
    authorizations.push(new Headers(init?.headers).get("authorization"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    return Response.json({ access_token: `t${++issued}`, expires_in: 100 });
  };
  const tokens = new ClientCredentialsTokens(
    { clientId: "id", clientSecret: "s3cret", tokenUrl: "http://127.0.0.1:9/token" },
    tokenEndpoint,
    log,
    () => now,
  );
  assert.deepEqual(await Promise.all([tokens.token(), tokens.token(), tokens.token()]), [
    "t1",
    "t1",
    "t1",
  ]);
  assert.equal(issued, 1);
  assert.equal(bodies[0], "grant_type=client_credentials");
  assert.equal(authorizations[0], basicClientAuthorization("id", "s3cret"));
  now = 89_000; // 10 % of the lifetime before expiry: still good
  assert.equal(await tokens.token(), "t1");
  now = 90_000;
  assert.equal(await tokens.token(), "t2");
  tokens.invalidate("t1"); // an old token: no effect
  assert.equal(await tokens.token(), "t2");
  tokens.invalidate("t2");
  assert.equal(await tokens.token(), "t3");
});

Deno.test("basicClientAuthorization: RFC 6749 §2.3.1, id and secret form-urlencoded first", () => {
  // The RFC's own example.
  assert.equal(
    basicClientAuthorization("s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw"),
    "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3",
  );
  assert.equal(basicClientAuthorization("a:b", "c d+é"), `Basic ${btoa("a%3Ab:c+d%2B%C3%A9")}`);
});

Deno.test("fetchWithBearerToken: one retry with a new token after a 401", async () => {
  let issued = 0;
  const seen: string[] = [];
  const fake: typeof fetch = (input, init) => {
    if (String(input).endsWith("/token")) {
      return Promise.resolve(Response.json({ access_token: `t${++issued}`, expires_in: 3600 }));
    }
    const headers = new Headers(init?.headers);
    const auth = headers.get("authorization")!;
    seen.push(`${auth} ${init?.body} ${headers.get("x-other")}`);
    return Promise.resolve(new Response(null, { status: auth === "Bearer t1" ? 401 : 200 }));
  };
  const tokens = new ClientCredentialsTokens(
    { clientId: "id", clientSecret: "s", tokenUrl: "http://x/token" },
    fake,
    log,
  );
  const response = await fetchWithBearerToken(fake, tokens)("http://x/mcp", {
    method: "POST",
    body: "payload",
    headers: { "x-other": "kept" },
  });
  assert.equal(response.status, 200);
  assert.deepEqual(seen, ["Bearer t1 payload kept", "Bearer t2 payload kept"]);
});

Deno.test("classifySendError and classifyStreamError", () => {
  const refused = new TypeError("fetch failed", {
    cause: new Error("client error (Connect): tcp connect error: Connection refused"),
  });
  assert.equal(classifySendError(refused), "undelivered");
  assert.equal(classifySendError(new StreamableHTTPError(404, "Error POSTing")), "session-gone");
  assert.equal(
    classifySendError(new StreamableHTTPError(400, "Error POSTing: No valid session ID provided")),
    "session-gone",
  );
  assert.equal(
    classifySendError(new Error("Error POSTing to endpoint (HTTP 404): x")),
    "session-gone",
  );
  assert.equal(classifySendError(new StreamableHTTPError(500, "Error POSTing: boom")), "failed");
  assert.equal(classifySendError(new TypeError("error reading a body from connection")), "failed");

  assert.equal(
    classifyStreamError(new SseError(undefined, "terminated", new ErrorEvent("error"))),
    "lost",
  );
  assert.equal(classifyStreamError(new Error("SSE stream disconnected: TypeError")), "lost");
  assert.equal(classifyStreamError(new Error("Failed to reconnect SSE stream: x")), "lost");
  assert.equal(
    classifyStreamError(new StreamableHTTPError(404, "Failed to open SSE stream: Not Found")),
    "lost",
  );
  assert.equal(
    classifyStreamError(new StreamableHTTPError(400, "Failed to open SSE stream: Bad")),
    "harmless",
  );
  assert.equal(classifyStreamError(new StreamableHTTPError(404, "Error POSTing")), "harmless");
  assert.equal(classifyStreamError(new SyntaxError("Unexpected token")), "harmless");
});
