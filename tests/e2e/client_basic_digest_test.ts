/**
 * Client mode with `--username`/`--password` (HTTP Basic) and `--digest` (HTTP Digest), the real
 * process against a remote that checks every answer (tests/fixtures/digest_remote.ts): the
 * credentials on every request, Digest's nonce counting and stale nonces, refusals reported
 * with the remote's message, no OAuth sign-in on a Basic or Digest challenge, and the password
 * never on stderr.
 */
import assert from "node:assert/strict";
import { type DigestAlgorithm, PasswordRemote } from "../fixtures/digest_remote.ts";
import { ProxyStdio, withClientThrough } from "../support/proxy_stdio.ts";
import { INITIALIZE } from "../support/raw_http.ts";

const USERNAME = "mcp-user";
/** Non-ASCII and a colon: both must survive the encodings. */
const PASSWORD = "s3cret-pässwörd:42";
/** What stderr must never show: the password, and Basic's Base64 of it. */
const SECRETS = [
  PASSWORD,
  btoa(String.fromCharCode(...new TextEncoder().encode(`${USERNAME}:${PASSWORD}`))),
];

const CREDENTIALS = ["--username", USERNAME, "--password", PASSWORD];

const TRANSPORTS = [
  { name: "sse", args: ["--transport", "sse"], path: "/sse" },
  { name: "streamablehttp", args: ["--transport", "streamablehttp"], path: "/mcp" },
  { name: "detected", args: [] as string[], path: "/mcp" },
];

function assertNoSecret(stderr: string): void {
  for (const secret of SECRETS) assert.ok(!stderr.includes(secret), `stderr shows ${secret}`);
}

/** Runs a client through the proxy: initialize, three tool calls and a resource list. */
async function useRemote(remote: PasswordRemote, args: string[]): Promise<ProxyStdio> {
  const proxy = new ProxyStdio(["--debug", ...args]);
  await withClientThrough(proxy, remote, "password-test", async (client) => {
    for (let call = 0; call < 3; call++) {
      const result = await client.callTool({ name: "echo", arguments: { call } });
      assert.deepEqual(result.content, [{ type: "text", text: JSON.stringify({ call }) }]);
    }
    assert.equal((await client.listResources()).resources.length, 2);
  });
  return proxy;
}

/** Asserts that Digest nonces were counted 1, 2, 3... each, and returns how many nonces. */
function assertCountedNonces(remote: PasswordRemote): number {
  const counts = new Map<string, number[]>();
  for (const { nonce, nc } of remote.accepted) counts.set(nonce, [...counts.get(nonce) ?? [], nc]);
  for (const [nonce, ncs] of counts) {
    const sorted = [...ncs].sort((a, b) => a - b);
    assert.deepEqual(sorted, sorted.map((_, i) => i + 1), `nc of ${nonce}: ${ncs}`);
  }
  return counts.size;
}

for (const transport of TRANSPORTS) {
  Deno.test(`client mode (${transport.name}): Basic credentials on every request, replacing -H Authorization`, async () => {
    const remote = new PasswordRemote({ scheme: "basic", username: USERNAME, password: PASSWORD })
      .start();
    const proxy = await useRemote(remote, [
      ...transport.args,
      ...CREDENTIALS,
      "-H",
      "Authorization",
      "Bearer replaced-by-basic",
      `${remote.origin}${transport.path}`,
    ]);
    assert.deepEqual(remote.refusals, []);
    assert.ok(remote.inner.requests.length >= 5, `${remote.inner.requests.length} requests`);
    assertNoSecret(proxy.stderr);
  });
}

const DIGESTS: { algorithm: DigestAlgorithm; transport: (typeof TRANSPORTS)[number] }[] = [
  { algorithm: "MD5", transport: TRANSPORTS[0] },
  { algorithm: "MD5", transport: TRANSPORTS[1] },
  { algorithm: "SHA-256", transport: TRANSPORTS[0] },
  { algorithm: "SHA-256", transport: TRANSPORTS[2] },
  { algorithm: "SHA-512-256", transport: TRANSPORTS[1] },
  { algorithm: "MD5-sess", transport: TRANSPORTS[1] },
  { algorithm: "SHA-256-sess", transport: TRANSPORTS[0] },
];

for (const { algorithm, transport } of DIGESTS) {
  Deno.test(`client mode (${transport.name}): Digest ${algorithm}, one challenge, nc counting up`, async () => {
    const remote = new PasswordRemote({
      scheme: "digest",
      username: USERNAME,
      password: PASSWORD,
      algorithm,
    }).start();
    const proxy = await useRemote(remote, [
      ...transport.args,
      ...CREDENTIALS,
      "--digest",
      `${remote.origin}${transport.path}`,
    ]);
    // Only the very first request went without an answer: the nonce is reused after it.
    assert.deepEqual(remote.refusals, ["no credentials"]);
    assert.equal(assertCountedNonces(remote), 1);
    assert.ok(remote.accepted.length >= 5, `${remote.accepted.length} answers`);
    assert.ok(remote.accepted.every(({ qop }) => qop === "auth"));
    assert.ok(!/refused|asks for a username/.test(proxy.stderr), proxy.stderr);
    assertNoSecret(proxy.stderr);
  });
}

Deno.test("client mode: Digest answers a stale=true challenge with the new nonce, unreported", async () => {
  const remote = new PasswordRemote({
    scheme: "digest",
    username: USERNAME,
    password: PASSWORD,
    algorithm: "SHA-256",
    nonceUses: 2,
  }).start();
  const proxy = await useRemote(remote, [
    "--transport",
    "streamablehttp",
    ...CREDENTIALS,
    "--digest",
    `${remote.origin}/mcp`,
  ]);
  assert.ok(remote.staleChallenges >= 2, `${remote.staleChallenges} stale challenges`);
  assert.deepEqual(
    [...new Set(remote.refusals)].sort(),
    ["no credentials", "stale nonce"],
  );
  assert.equal(remote.refusals.filter((reason) => reason === "no credentials").length, 1);
  assert.ok(assertCountedNonces(remote) >= 3);
  assert.ok(!/refused|asks for a username/.test(proxy.stderr), proxy.stderr);
});

const REFUSALS: {
  name: string;
  remote: "basic" | "digest";
  args: string[];
  logged: RegExp;
}[] = [
  {
    name: "a wrong Basic password",
    remote: "basic",
    args: ["--username", USERNAME, "--password", "wrong-password"],
    logged:
      /\[E [^\]]+\] The remote server refused the username and password: HTTP 401: Unauthorized: wrong username or password\n/,
  },
  {
    name: "a wrong Digest password",
    remote: "digest",
    args: ["--username", USERNAME, "--password", "wrong-password", "--digest"],
    logged:
      /\[E [^\]]+\] The remote server refused the username and password: HTTP 401: Unauthorized: wrong response hash\n/,
  },
  {
    name: "Basic credentials for a Digest remote",
    remote: "digest",
    args: CREDENTIALS,
    logged:
      /\[E [^\]]+\] The remote server refused the username and password \(it asks for HTTP Digest: add --digest\): HTTP 401: Unauthorized: not a Digest answer\n/,
  },
  {
    name: "no credentials for a Digest remote",
    remote: "digest",
    args: [],
    logged:
      /\[E [^\]]+\] The remote server asks for a username and password \(HTTP Digest; give --username, --password and --digest\): HTTP 401: Unauthorized: no credentials\n/,
  },
  {
    name: "no credentials for a Basic remote",
    remote: "basic",
    args: [],
    logged:
      /\[E [^\]]+\] The remote server asks for a username and password \(HTTP Basic; give --username and --password\): HTTP 401: Unauthorized: no credentials\n/,
  },
];

for (const refusal of REFUSALS) {
  Deno.test(`client mode: ${refusal.name} is reported with the remote's message, no OAuth sign-in`, async () => {
    const remote = new PasswordRemote({
      scheme: refusal.remote,
      username: USERNAME,
      password: PASSWORD,
    }).start();
    const home = await Deno.makeTempDir({ prefix: "mcp-proxy-password-test-" });
    const tokenFile = `${home}/oauth.json`;
    const proxy = new ProxyStdio([
      ...refusal.args,
      "--oauth-token-file",
      tokenFile,
      `${remote.origin}/mcp`,
    ]);
    try {
      await proxy.start();
      await proxy.send(INITIALIZE as never);
      const answer = JSON.parse(await proxy.waitForLine((line) => JSON.parse(line).id === 1));
      assert.ok(answer.error, JSON.stringify(answer));
    } finally {
      await proxy.close();
      await remote.close();
    }
    try {
      assert.match(proxy.stderr, refusal.logged);
      // Each refusal once, however many requests met it.
      assert.equal(proxy.stderr.split(refusal.logged).length - 1, 1, proxy.stderr);
      assert.ok(!/Sign.in/i.test(proxy.stderr), proxy.stderr);
      assert.deepEqual(remote.paths.filter((path) => path.startsWith("/.well-known/")), []);
      await assert.rejects(Deno.stat(tokenFile));
      assert.ok(!proxy.stderr.includes("wrong-password"), proxy.stderr);
      assertNoSecret(proxy.stderr);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
}
