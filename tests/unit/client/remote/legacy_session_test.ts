/**
 * Client mode's triage of the SDK transports' errors.
 */
import assert from "node:assert/strict";
import {
  classifySendError,
  classifyStreamError,
  remoteErrorOf,
  remoteTransportFactory,
} from "../../../../src/client/remote/legacy_session.ts";
import { loadClient } from "../../../../src/deps.ts";

// The SDK's transports load with the first factory, as in client mode: their errors come after.
await remoteTransportFactory({
  url: "http://127.0.0.1:9/mcp",
  transport: "streamablehttp",
  headers: {},
  fetch,
});
const { SdkError, SdkErrorCode, SdkHttpError, SseError } = await loadClient();

/** What the Streamable HTTP transport throws for a refused POST (v2: the body in `data.text`). */
const postFailed = (status: number, text: string) =>
  new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, `Error POSTing to endpoint: ${text}`, {
    status,
    statusText: "",
    text,
  });

/** What the Streamable HTTP transport reports when the standalone GET stream is refused. */
const getRefused = (status: number, statusText: string) =>
  new SdkHttpError(
    SdkErrorCode.ClientHttpFailedToOpenStream,
    `Failed to open SSE stream: ${statusText}`,
    { status, statusText },
  );

Deno.test("classifySendError and classifyStreamError", () => {
  const refused = new TypeError("fetch failed", {
    cause: new Error("client error (Connect): tcp connect error: Connection refused"),
  });
  assert.equal(classifySendError(refused), "undelivered");
  assert.equal(classifySendError(postFailed(404, "Session not found")), "session-gone");
  assert.equal(
    classifySendError(postFailed(400, "Bad Request: No valid session ID provided")),
    "session-gone",
  );
  assert.equal(
    classifySendError(new Error("Error POSTing to endpoint (HTTP 404): x")),
    "session-gone",
  );
  assert.equal(classifySendError(postFailed(500, "boom")), "failed");
  assert.equal(classifySendError(new TypeError("error reading a body from connection")), "failed");
  assert.equal(
    classifySendError(
      new SdkError(SdkErrorCode.ClientHttpUnexpectedContent, "Unexpected content type: text/html"),
    ),
    "failed",
  );

  assert.equal(
    classifyStreamError(new SseError(undefined, "terminated", new ErrorEvent("error"))),
    "lost",
  );
  assert.equal(classifyStreamError(new Error("SSE stream disconnected: TypeError")), "lost");
  assert.equal(classifyStreamError(new Error("Failed to reconnect SSE stream: x")), "lost");
  assert.equal(
    classifyStreamError(new Error("Maximum reconnection attempts (2) exceeded.")),
    "lost",
  );
  assert.equal(classifyStreamError(getRefused(404, "Not Found")), "lost");
  assert.equal(classifyStreamError(getRefused(400, "Bad Request")), "harmless");
  // A refused POST reported through onerror: judged where send() rejects.
  assert.equal(classifyStreamError(postFailed(404, "Session not found")), "harmless");
  assert.equal(
    classifyStreamError(
      new SdkError(SdkErrorCode.ClientHttpUnexpectedContent, "Unexpected content type: text/html"),
    ),
    "harmless",
  );
  assert.equal(classifyStreamError(new SyntaxError("Unexpected token")), "harmless");
});

Deno.test("remoteErrorOf relays the JSON-RPC error of a refused request's body", () => {
  const error = { code: -32602, message: "Unsupported protocol version", data: { x: 1 } };
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, error });
  // Streamable HTTP: the body from `data.text`, whatever the message says.
  assert.deepEqual(remoteErrorOf(postFailed(400, body)), error);
  const terse = new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, "Error POSTing", {
    status: 400,
    text: body,
  });
  assert.deepEqual(remoteErrorOf(terse), error);
  // SSE: the body at the end of the message.
  assert.deepEqual(
    remoteErrorOf(new Error(`Error POSTing to endpoint (HTTP 400): ${body}`)),
    error,
  );
  assert.equal(remoteErrorOf(postFailed(500, "Internal Server Error")), undefined);
  assert.equal(remoteErrorOf(postFailed(400, '{"jsonrpc":"2.0","result":{}}')), undefined);
  assert.equal(remoteErrorOf(new TypeError("fetch failed")), undefined);
});
