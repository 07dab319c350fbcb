/**
 * Client mode: a remote SSE or Streamable HTTP server exposed on stdio.
 * @module
 */
import type { ClientSettings } from "../cli/settings.ts";
import { getLogger, type Logger, urlForLog } from "../log.ts";
import { runtime } from "../runtime/mod.ts";
import { fetchWithSignIn, signOut } from "./auth/mod.ts";
import { fetchWithHttpAuth } from "./auth/http_auth.ts";
import { ClientCredentialsTokens, fetchWithBearerToken, TokenError } from "./oauth.ts";
import { PROXY_CLIENT_INFO } from "../relay/handshake.ts";
import { ClientFront } from "./front.ts";
import { MessageWriter } from "../shared/message_writer.ts";
import { readMessages } from "./stdio.ts";
import { fetchForVerifySsl, TlsSetupError } from "./tls.ts";

/** A logger that writes each of `urls` (whose query may hold an API key) as {@linkcode urlForLog}. */
function urlRedactingLogger(log: Logger, urls: readonly string[]): Logger {
  const replacements = urls.flatMap((url) => {
    const shown = urlForLog(url);
    return [url, new URL(url).href].filter((text) => text !== shown).map((hidden) =>
      [hidden, shown] as const
    );
  });
  const redact = (message: string) =>
    replacements.reduce((text, [hidden, shown]) => text.replaceAll(hidden, shown), message);
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
  log.info(`Relaying stdio to ${urlForLog(settings.url)} (transport: ${settings.transport}).`);
  const front = new ClientFront({
    url: settings.url,
    transport: settings.transport,
    headers: settings.headers,
    fetch: fetchImpl,
    log,
    clientInfo: PROXY_CLIENT_INFO,
    deliver: (message) => stdout.write(message),
  });

  const { promise: signalled, resolve: stop } = Promise.withResolvers<void>();
  const unsubscribe = [
    runtime.onSignal("SIGINT", stop),
    runtime.onSignal("SIGTERM", stop),
  ];
  await Promise.race([
    readMessages(runtime.stdin(), {
      onMessage: (incoming) => front.receive(incoming),
      onInvalid: (response) => stdout.write(response),
      log,
    }),
    signalled,
  ]);
  log.info("Shutting down: the answers still owed, then the end of the remote session.");
  await front.close();
  await stdout.flush();
  for (const off of unsubscribe) off();
  return 0;
}
