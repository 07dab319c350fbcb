/**
 * Client mode's triage of the SDK transports' errors.
 */
import assert from "node:assert/strict";
import {
  classifySendError,
  classifyStreamError,
  remoteTransportFactory,
} from "../../src/client/remote.ts";
import { loadClientTransports } from "../../src/deps.ts";

// The SDK's transports load with the first factory, as in client mode: their errors come after.
await remoteTransportFactory({
  url: "http://127.0.0.1:9/mcp",
  transport: "streamablehttp",
  headers: {},
  fetch,
});
const { SseError, StreamableHTTPError } = await loadClientTransports();

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
