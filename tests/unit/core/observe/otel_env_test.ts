/** Which OpenTelemetry variables turn trace export on, and where it goes. */
import assert from "node:assert/strict";
import { otlpFromEnv } from "../../../../src/core/observe/otel_env.ts";

function read(env: Record<string, string>) {
  const warnings: string[] = [];
  return { settings: otlpFromEnv(env, (message) => warnings.push(message)), warnings };
}

Deno.test("off unless a variable asks for it", () => {
  assert.equal(read({}).settings, undefined);
  assert.equal(read({ OTEL_SERVICE_NAME: "s" }).settings, undefined);
  assert.equal(
    read({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c" }).settings,
    undefined,
  );
  assert.equal(
    read({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c" }).settings,
    undefined,
  );
});

Deno.test("the endpoint: the traces one as it is, the base one with /v1/traces, or the default", () => {
  assert.equal(
    read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).settings?.tracesUrl,
    "http://collector:4318/v1/traces",
  );
  assert.equal(
    read({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://other/custom",
    }).settings?.tracesUrl,
    "http://other/custom",
  );
  assert.equal(
    read({ OTEL_TRACES_EXPORTER: "otlp" }).settings?.tracesUrl,
    "http://localhost:4318/v1/traces",
  );
});

Deno.test("headers, resource and service name; what is not followed is said", () => {
  const { settings, warnings } = read({
    OTEL_TRACES_EXPORTER: "otlp,console",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    OTEL_EXPORTER_OTLP_HEADERS: "api-key=a%20b, x=1,broken",
    OTEL_RESOURCE_ATTRIBUTES: "service.name=from-resource,deployment.environment=prod",
  });
  assert.deepEqual(settings?.headers, { "api-key": "a b", x: "1" });
  assert.deepEqual(settings?.resource, {
    "service.name": "from-resource",
    "deployment.environment": "prod",
  });
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /ignoring console/);
  assert.match(warnings[1], /http\/protobuf/);
  assert.equal(
    read({ OTEL_TRACES_EXPORTER: "otlp", OTEL_SERVICE_NAME: "mine" }).settings?.resource[
      "service.name"
    ],
    "mine",
  );
  assert.equal(
    read({ OTEL_TRACES_EXPORTER: "otlp" }).settings?.resource["service.name"],
    "mcp-proxy",
  );
});
