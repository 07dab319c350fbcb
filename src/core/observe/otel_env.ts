/**
 * Whether and where to export traces, from OpenTelemetry's standard environment variables:
 * `OTEL_TRACES_EXPORTER`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` and
 * `OTEL_SDK_DISABLED`. Read at every start, so it is small; the tracer itself is loaded only
 * when this says to export.
 * @module
 */

/** Where and how spans are exported (OTLP over HTTP, JSON encoding). */
export interface OtlpSettings {
  /** The URL spans are POSTed to (`…/v1/traces`). */
  readonly tracesUrl: string;
  /** Headers sent with each export (`OTEL_EXPORTER_OTLP_HEADERS`), e.g. a collector's key. */
  readonly headers: Readonly<Record<string, string>>;
  /** The resource's attributes, `service.name` among them. */
  readonly resource: Readonly<Record<string, string>>;
}

/** What OpenTelemetry SDKs post to when only the exporter is named. */
const DEFAULT_TRACES_URL = "http://localhost:4318/v1/traces";

/** The service name when the environment gives none. */
export const DEFAULT_SERVICE_NAME = "mcp-proxy";

/** `k1=v1,k2=v2` with percent-encoded values, as the OTLP variables write lists. */
function keyValueList(text: string | undefined): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of (text ?? "").split(",")) {
    const at = item.indexOf("=");
    if (at <= 0) continue;
    const key = item.slice(0, at).trim();
    const raw = item.slice(at + 1).trim();
    try {
      pairs[key] = decodeURIComponent(raw);
    } catch {
      pairs[key] = raw;
    }
  }
  return pairs;
}

/**
 * The export `env` asks for, or `undefined` when traces are not exported: none of the
 * variables is set, `OTEL_TRACES_EXPORTER` names no `otlp`, or `OTEL_SDK_DISABLED` is `true`.
 * `warn` is told of settings that are not followed.
 */
export function otlpFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void,
): OtlpSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const signalEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const baseEndpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const exporters = env.OTEL_TRACES_EXPORTER?.split(",").map((name) => name.trim()) ?? [];
  if (exporters.length > 0) {
    const others = exporters.filter((name) => name !== "otlp" && name !== "none" && name);
    if (others.length > 0) {
      warn(`OTEL_TRACES_EXPORTER: mcp-proxy exports only otlp; ignoring ${others.join(", ")}`);
    }
    if (!exporters.includes("otlp")) return undefined;
  } else if (!signalEndpoint && !baseEndpoint) {
    return undefined;
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)
    ?.trim();
  if (protocol && protocol !== "http/json") {
    warn(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: mcp-proxy exports OTLP over HTTP with JSON ` +
        "encoding (http/json), which OTLP/HTTP receivers accept on the same endpoint",
    );
  }
  const tracesUrl = signalEndpoint ||
    (baseEndpoint ? `${baseEndpoint.replace(/\/+$/, "")}/v1/traces` : DEFAULT_TRACES_URL);
  const resource = keyValueList(env.OTEL_RESOURCE_ATTRIBUTES);
  resource["service.name"] = env.OTEL_SERVICE_NAME?.trim() || resource["service.name"] ||
    DEFAULT_SERVICE_NAME;
  return {
    tracesUrl,
    headers: keyValueList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS),
    resource,
  };
}
