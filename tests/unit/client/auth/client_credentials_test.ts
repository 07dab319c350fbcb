/**
 * The OAuth client-credentials token cache and the bearer-token fetch, in-process.
 */
import assert from "node:assert/strict";
import {
  basicClientAuthorization,
  ClientCredentialsTokens,
  fetchWithBearerToken,
} from "../../../../src/client/auth/client_credentials.ts";
import type { Logger } from "../../../../src/io/log.ts";

const log: Logger = { debug() {}, info() {}, warning() {}, error() {} };

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
