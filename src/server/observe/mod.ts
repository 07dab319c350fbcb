/**
 * What server mode observes, set up once before its servers are built: the call log
 * (`--call-log`, on by default), the metrics at `/metrics` (`--metrics`) and the spans of
 * the tracer `main.ts` started when the environment asks for OpenTelemetry export.
 * @module
 */
import type { ServerSettings } from "../../config.ts";
import { CallWatch } from "../../core/observe/call_watch.ts";
import { observed } from "../../core/observe/observed.ts";
import { ProxyMetrics } from "../../core/observe/proxy_metrics.ts";
import { AppObserver } from "./http_observer.ts";

/** What the app and the listener report to. */
export interface ServerObserving {
  /** The app's observer of requests; absent when neither metrics nor traces are on. */
  readonly app: AppObserver | undefined;
  /** Told of each connection or exchange refused at the connection cap, with `--metrics`. */
  readonly onRefused: ((reason: "connection" | "exchange") => void) | undefined;
}

/**
 * Sets the process's observers for the servers about to be built (see `observed.ts`) from
 * `settings` and the tracer, if one runs; returns what the app and the listener are given.
 */
export function observeServer(
  settings: Pick<ServerSettings, "metrics" | "callLog">,
): ServerObserving {
  const metrics = settings.metrics ? new ProxyMetrics() : undefined;
  const tracer = observed.tracer;
  observed.metrics = metrics;
  observed.calls = settings.callLog || metrics || tracer
    ? new CallWatch({ log: settings.callLog, metrics, tracer })
    : undefined;
  return {
    app: metrics || tracer ? new AppObserver(metrics, tracer) : undefined,
    onRefused: metrics && ((reason) => metrics.refused(reason)),
  };
}
