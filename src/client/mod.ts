/**
 * Client mode: a remote SSE or Streamable HTTP server exposed on stdio.
 * @module
 */
import type { ClientSettings } from "../config.ts";
import { flushStderr, getLogger, type Logger, urlForLog, withUrlForLog } from "../io/log.ts";
import { runtime } from "../runtime/mod.ts";
import { fetchWithSignIn, signOut } from "./auth/mod.ts";
import { fetchWithHttpAuth } from "./auth/http_auth.ts";
import {
  ClientCredentialsTokens,
  fetchWithBearerToken,
  TokenError,
} from "./auth/client_credentials.ts";
import { PROXY_CLIENT_INFO } from "../protocol/handshake.ts";
import { ClientFront } from "./front.ts";
import { ClientMetrics } from "../core/observe/call_metrics.ts";
import { CallWatch } from "../core/observe/call_watch.ts";
import { observed } from "../core/observe/observed.ts";
import { fetchWithTraceparent, ObservedCalls, serveClientMetrics } from "./observed_calls.ts";
import { MessageWriter } from "../io/message_writer.ts";
import { readMessages } from "./stdio.ts";
import { fetchForVerifySsl, TlsSetupError } from "./tls.ts";

/** The exit status after a second signal: 128 + the signal's number, as shells report it. */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** Longest wait for the log line of a second signal before exiting. */
const SECOND_SIGNAL_FLUSH_MS = 500;

/** A logger that writes each of `urls` (whose query may hold an API key) as {@linkcode urlForLog}. */
function urlRedactingLogger(log: Logger, urls: readonly string[]): Logger {
  const redact = (message: string) => urls.reduce(withUrlForLog, message);
  return {
    debug: (message) => log.debug(redact(message)),
    info: (message) => log.info(redact(message)),
    warning: (message) => log.warning(redact(message)),
    error: (message) => log.error(redact(message)),
  };
}

/** The `fetch` for the remote server: TLS options applied, OAuth token or password attached. */
async function remoteFetch(settings: ClientSettings, log: Logger): Promise<typeof fetch> {
  const tlsFetch = await fetchForVerifySsl(settings.verifySsl, runtime, log);
  if (settings.httpAuth) return fetchWithHttpAuth(tlsFetch, settings.httpAuth, log);
  if (!settings.oauth) return fetchWithSignIn(tlsFetch, settings, runtime, log);
  const tokens = new ClientCredentialsTokens(settings.oauth, tlsFetch, log);
  try {
    // Wrong credentials should stop the proxy now, not fail every request later.
    await tokens.token();
  } catch (error) {
    if (error instanceof TokenError) throw error;
    log.warning(`Token endpoint unreachable for now: ${(error as Error).message}`);
  }
  return fetchWithBearerToken(tlsFetch, tokens);
}

/** Runs client mode until stdin ends or a signal arrives; resolves to the exit code. */
export async function runClient(settings: ClientSettings): Promise<number> {
  const log = urlRedactingLogger(getLogger("mcp_proxy.client"), [
    settings.url,
    ...(settings.oauth ? [settings.oauth.tokenUrl] : []),
  ]);
  if (settings.signIn.signOut) {
    await signOut(settings, runtime, log);
    return 0;
  }
  let fetchImpl: typeof fetch;
  try {
    fetchImpl = await remoteFetch(settings, log);
  } catch (error) {
    if (!(error instanceof TlsSetupError || error instanceof TokenError)) throw error;
    log.error(error.message);
    return 1;
  }

  const stdout = new MessageWriter(
    runtime.stdout(),
    (error) => log.debug(`Cannot write to stdout: ${(error as Error).message}`),
  );
  const metrics = settings.metricsPort === undefined ? undefined : new ClientMetrics();
  let metricsServer;
  if (metrics) {
    try {
      metricsServer = await serveClientMetrics(runtime, settings.metricsPort!, metrics, log);
    } catch (error) {
      log.error(
        `Could not serve --metrics-port ${settings.metricsPort}: ${(error as Error).message}`,
      );
      return 1;
    }
    log.info(`Serving metrics at http://127.0.0.1:${metricsServer.port}/metrics`);
    observed.reconnects = metrics.upstreamReconnects;
  }
  const tracer = observed.tracer;
  const calls = metrics || tracer
    ? new ObservedCalls(new CallWatch({ log: false, metrics, tracer }).forServer("remote"))
    : undefined;
  log.info(`Relaying stdio to ${urlForLog(settings.url)} (transport: ${settings.transport}).`);
  const front = new ClientFront({
    url: settings.url,
    transport: settings.transport,
    headers: settings.headers,
    fetch: tracer ? fetchWithTraceparent(fetchImpl) : fetchImpl,
    log,
    clientInfo: PROXY_CLIENT_INFO,
    deliver: (message) => {
      calls?.answered(message);
      stdout.write(message);
    },
  });

  // A signal is someone stopping the proxy: the requests still owed get an error at once. A
  // second one, while the remote session is being ended, exits there and then.
  const { promise: signalled, resolve: stop } = Promise.withResolvers<string>();
  let signals = 0;
  const onSignal = (name: "SIGINT" | "SIGTERM") => () => {
    if (++signals > 1) {
      log.warning(`${name} again: exiting now.`);
      flushStderr(SECOND_SIGNAL_FLUSH_MS).then(() => runtime.exit(SIGNAL_EXIT_CODES[name]));
      return;
    }
    log.info(`${name}: shutting down (a second signal exits at once).`);
    front.abandon(`shutting down (${name}); the request may or may not have been carried out`);
    stop(name);
  };
  const unsubscribe = [
    runtime.onSignal("SIGINT", onSignal("SIGINT")),
    runtime.onSignal("SIGTERM", onSignal("SIGTERM")),
  ];
  const ended = await Promise.race([
    readMessages(runtime.stdin(), {
      onMessage: (incoming) => front.receive(calls ? calls.sent(incoming) : incoming),
      onInvalid: (response) => stdout.write(response),
      log,
    }).then(() => "stdin"),
    signalled,
  ]);
  if (ended === "stdin") log.info("stdin ended: shutting down.");
  await front.close();
  await stdout.flush();
  await metricsServer?.shutdown();
  for (const off of unsubscribe) off();
  if (front.reached) return 0;
  log.error(`Exiting with status 1: no MCP server was ever reached at ${urlForLog(settings.url)}.`);
  return 1;
}
