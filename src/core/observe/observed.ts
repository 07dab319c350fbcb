/**
 * What the process observes, set once by the mode at start-up, before any server, child or
 * stream is built: the call watch (call log, metrics, traces), the metrics and the tracer.
 * Each is absent when off; the parts that report read their slot once, when they are built,
 * and then cost nothing more.
 *
 * A slot of the process rather than an argument handed down through every layer: every
 * server, child and stream of a run reports to the same ones, decided by the command line
 * and the environment before the first of them exists.
 * @module
 */
import type { CallWatch } from "./call_watch.ts";
import type { Counter } from "./metrics.ts";
import type { ProxyMetrics } from "./proxy_metrics.ts";
import type { Tracer } from "./trace_context.ts";

/** The observers of the process. */
export interface Observed {
  /** Watches relayed calls (server mode), when the call log, metrics or traces are on. */
  calls?: CallWatch;
  /** The metrics served at `/metrics`, with `--metrics`. */
  metrics?: ProxyMetrics;
  /** The tracer, when OpenTelemetry export is configured in the environment. */
  tracer?: Tracer;
  /** Client mode, with `--metrics-port`: counts reconnections to the remote's session. */
  reconnects?: Counter;
}

/** The observers of this process: set at start-up, read by what reports to them. */
export const observed: Observed = {};
