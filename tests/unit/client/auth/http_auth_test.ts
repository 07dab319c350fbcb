/**
 * HTTP Basic and Digest answers, checked against the worked examples of RFC 7616 §3.9 and
 * RFC 7617 §2.1, and the parsing of `WWW-Authenticate`.
 */
import assert from "node:assert/strict";
import {
  basicAuthorization,
  digestAuthorization,
  type DigestChallenge,
  digestChallenge,
  parseChallenges,
} from "../../../../src/client/auth/http_auth.ts";

/** The parameters of an `Authorization: Digest` value. */
function digestFields(header: string): Record<string, string> {
  assert.match(header, /^Digest /);
  const [challenge] = parseChallenges(header);
  return challenge.params;
}

Deno.test("Digest: RFC 7616 §3.9.1, MD5 and SHA-256", async (t) => {
  const header = 'Digest realm="http-auth@example.org", qop="auth, auth-int", ' +
    'algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", ' +
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, ' +
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
  const challenges = parseChallenges(header);
  assert.equal(challenges.length, 2);
  const request = {
    method: "GET",
    uri: "/dir/index.html",
    nc: 1,
    cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  };
  const credentials = { username: "Mufasa", password: "Circle of Life" };
  const cases: [string, DigestChallenge | string, string][] = [
    [
      "the server's first choice, SHA-256",
      digestChallenge(challenges),
      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    ],
    ["MD5", digestChallenge(challenges.slice(1)), "8ca523f5e9506fed4657c9700eebdbec"],
  ];
  for (const [name, challenge, response] of cases) {
    await t.step(name, () => {
      assert.ok(typeof challenge === "object", String(challenge));
      const fields = digestFields(digestAuthorization(challenge, credentials, request));
      assert.deepEqual(fields, {
        username: "Mufasa",
        realm: "http-auth@example.org",
        uri: "/dir/index.html",
        algorithm: challenge.algorithm,
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        nc: "00000001",
        cnonce: request.cnonce,
        qop: "auth",
        response,
        opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
      });
    });
  }
});

// The hashes printed in RFC 7616 §3.9.2 cannot be reproduced from the example's own inputs;
// these were computed independently (Python's hashlib) from those inputs.
Deno.test("Digest: the inputs of RFC 7616 §3.9.2, SHA-512-256 with a hashed non-ASCII username", () => {
  const challenge = digestChallenge(parseChallenges(
    'Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, ' +
      'nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", ' +
      'opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true',
  ));
  assert.ok(typeof challenge === "object", String(challenge));
  const fields = digestFields(
    digestAuthorization(
      challenge,
      { username: "J\u00e4s\u00f8n Doe", password: "Secret, or not?" },
      {
        method: "GET",
        uri: "/doe.json",
        nc: 1,
        cnonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
      },
    ),
  );
  assert.equal(fields.username, "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");
  assert.equal(fields.userhash, "true");
  assert.equal(
    fields.response,
    "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5",
  );
});

Deno.test("Digest: -sess, no qop (RFC 2069), nc in hex, what cannot be answered", async (t) => {
  const base = 'Digest realm="r", nonce="n"';
  await t.step("MD5-sess folds nonce and cnonce into the secret", () => {
    const challenge = digestChallenge(parseChallenges(`${base}, qop=auth, algorithm=MD5-sess`));
    assert.ok(typeof challenge === "object");
    assert.equal(challenge.session, true);
    const fields = digestFields(
      digestAuthorization(challenge, { username: "u", password: "p" }, {
        method: "POST",
        uri: "/mcp?x=1",
        nc: 255,
        cnonce: "c",
      }),
    );
    assert.equal(fields.algorithm, "MD5-sess");
    assert.equal(fields.nc, "000000ff");
    // MD5(MD5(MD5(u:r:p):n:c):n:000000ff:c:auth:MD5(POST:/mcp?x=1)), from Python's hashlib.
    assert.equal(fields.response, "042482786ff290b14c62264f1e58509e");
  });
  await t.step("without qop: no nc, cnonce or qop", () => {
    const challenge = digestChallenge(parseChallenges(base));
    assert.ok(typeof challenge === "object");
    const fields = digestFields(
      digestAuthorization(challenge, { username: "u", password: "p" }, {
        method: "GET",
        uri: "/",
        nc: 1,
        cnonce: "c",
      }),
    );
    assert.deepEqual(Object.keys(fields).sort(), [
      "algorithm",
      "nonce",
      "realm",
      "response",
      "uri",
      "username",
    ]);
  });
  await t.step("a non-ASCII username goes as username* (RFC 8187), quotes are escaped", () => {
    const challenge = digestChallenge(parseChallenges(`${base}, qop=auth`));
    assert.ok(typeof challenge === "object");
    const request = { method: "GET", uri: "/", nc: 1, cnonce: "c" };
    const accented = digestAuthorization(
      challenge,
      { username: "J\u00e4s", password: "p" },
      request,
    );
    assert.match(accented, /^Digest username\*=UTF-8''J%C3%A4s, /);
    const quoting = digestAuthorization(challenge, { username: 'a"b\\c', password: "p" }, request);
    assert.equal(digestFields(quoting).username, 'a"b\\c');
  });
  await t.step("stale=true is read", () => {
    const challenge = digestChallenge(parseChallenges(`${base}, stale=TRUE`));
    assert.ok(typeof challenge === "object" && challenge.stale);
  });
  const refused: [string, RegExp][] = [
    [`${base}, algorithm=SHA-1`, /algorithm SHA-1, which mcp-proxy does not support/],
    [`${base}, qop="auth-int"`, /qop=auth-int/],
    ['Digest realm="r"', /lacks a realm or nonce/],
    ['Basic realm="r"', /no Digest challenge/],
  ];
  for (const [header, reason] of refused) {
    await t.step(header, () => {
      const answer = digestChallenge(parseChallenges(header));
      assert.equal(typeof answer, "string");
      assert.match(answer as string, reason);
    });
  }
});

Deno.test("WWW-Authenticate: several challenges, token68, escapes, spacing", () => {
  assert.deepEqual(
    parseChallenges(
      'Negotiate abc+/==, Bearer resource_metadata="https://r/x", Basic realm = "a \\"b\\" c",' +
        " charset=UTF-8, Digest realm=r2, nonce=n",
    ),
    [
      { scheme: "negotiate", params: {} },
      { scheme: "bearer", params: { resource_metadata: "https://r/x" } },
      { scheme: "basic", params: { realm: 'a "b" c', charset: "UTF-8" } },
      { scheme: "digest", params: { realm: "r2", nonce: "n" } },
    ],
  );
  assert.deepEqual(parseChallenges(""), []);
});

Deno.test("Basic: RFC 7617 §2.1, and UTF-8 credentials", () => {
  assert.equal(
    basicAuthorization({ username: "Aladdin", password: "open sesame" }),
    "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
  );
  // RFC 7617 §2.1's charset example: "test" and "123£".
  assert.equal(
    basicAuthorization({ username: "test", password: "123\u00a3" }),
    "Basic dGVzdDoxMjPCow==",
  );
});
