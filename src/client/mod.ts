/**
 * Client mode: a remote SSE or Streamable HTTP server exposed on stdio.
 * @module
 */
import type { ClientSettings } from "../cli/settings.ts";
import { getLogger, type Logger } from "../log.ts";
import { runtime } from "../runtime/mod.ts";
import { fetchWithSignIn, signOut } from "./auth/mod.ts";
import { ClientCredentialsTokens, fetchWithBearerToken, TokenError } from "./oauth.ts";
import { remoteTransportFactory } from "./remote.ts";
import { MessageWriter, readMessages } from "./stdio.ts";
import { fetchForVerifySsl, TlsSetupError } from "./tls.ts";
import { Upstream } from "./upstream.ts";

/** The URL without credentials, query or fragment, which may hold secrets: for logs. */
function displayUrl(url: string): string {
  const { origin, pathname } = new URL(url);
  return origin + pathname;
}

/** A logger that writes `url` (whose query may hold an API key) as {@linkcode displayUrl}. */
function urlRedactingLogger(log: Logger, url: string): Logger {
  const shown = displayUrl(url);
  const hidden = [url, new URL(url).href].filter((text) => text !== shown);
  const redact = (message: string) =>
    hidden.reduce((text, secret) => text.replaceAll(secret, shown), message);
  return {
    debug: (message) => log.debug(redact(message)),
    info: (message) => log.info(redact(message)),
    warning: (message) => log.warning(redact(message)),
    error: (message) => log.error(redact(message)),
  };
}

/** The `fetch` for the remote server: TLS options applied, OAuth token attached. */
async function remoteFetch(settings: ClientSettings, log: Logger): Promise<typeof fetch> {
  const tlsFetch = await fetchForVerifySsl(settings.verifySsl, runtime, log);
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
  const log = urlRedactingLogger(getLogger("mcp_proxy.client"), settings.url);
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

  const stdout = new MessageWriter(runtime.stdout(), log);
  const upstream = new Upstream({
    newTransport: remoteTransportFactory({
      url: settings.url,
      transport: settings.transport,
      headers: settings.headers,
      fetch: fetchImpl,
    }),
    deliver: (message) => stdout.write(message),
    log,
  });
  log.info(`Relaying stdio to ${displayUrl(settings.url)} (${settings.transport}).`);
  upstream.start();

  const { promise: signalled, resolve: stop } = Promise.withResolvers<void>();
  const unsubscribe = [
    runtime.onSignal("SIGINT", stop),
    runtime.onSignal("SIGTERM", stop),
  ];
  await Promise.race([
    readMessages(runtime.stdin(), (message) => upstream.send(message), (e) => stdout.write(e)),
    signalled,
  ]);
  log.info("Shutting down: ending the remote session.");
  await upstream.close();
  await stdout.flush();
  for (const off of unsubscribe) off();
  return 0;
}
