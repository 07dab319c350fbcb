/**
 * OAuth sign-in for client mode, from its settings: the `fetch` wrapper and `--oauth-sign-out`.
 * @module
 */
import type { ClientSettings } from "../../config.ts";
import type { Logger } from "../../io/log.ts";
import type { Runtime } from "../../runtime/mod.ts";
import { fetchWithOAuthSignIn } from "./oauth_fetch.ts";
import { remoteKey } from "./session.ts";
import { defaultTokenFilePath } from "./token_file.ts";
import { TokenStore } from "./token_store.ts";

function tokenFile(settings: ClientSettings, runtime: Runtime): string {
  return settings.signIn.tokenFile ??
    defaultTokenFilePath(runtime.envObject(), runtime.platform);
}

/** `fetchImpl` with OAuth sign-in on 401, as the settings ask. */
export function fetchWithSignIn(
  fetchImpl: typeof fetch,
  settings: ClientSettings,
  runtime: Runtime,
  log: Logger,
): typeof fetch {
  const { signIn } = settings;
  return fetchWithOAuthSignIn(fetchImpl, {
    url: settings.url,
    tokenFile: tokenFile(settings, runtime),
    callbackPort: signIn.callbackPort,
    staticClient: signIn.clientId
      ? { clientId: signIn.clientId, clientSecret: signIn.clientSecret }
      : undefined,
    clientMetadataUrl: signIn.clientMetadataUrl,
    scope: signIn.scope,
    resourceIndicator: signIn.resourceIndicator,
    headers: settings.headers,
    runtime,
    log,
  });
}

/** `--oauth-sign-out`: forgets the tokens and registrations stored for the URL. */
export async function signOut(settings: ClientSettings, runtime: Runtime, log: Logger) {
  const store = new TokenStore(tokenFile(settings, runtime));
  const key = remoteKey(settings.url);
  const removed = await store.remove(key);
  log.info(removed ? `Signed out of ${key}.` : `No stored sign-in for ${key}.`);
}
