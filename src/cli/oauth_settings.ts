/**
 * The `--oauth-*` options (mcp-proxy additions): how client mode signs in to a remote that
 * asks for OAuth.
 * @module
 */
import type { OAuthSignInSettings } from "../config.ts";
import type { ParsedArgs } from "./parser.ts";

/** A problem with the options: the message and exit code 2, as argparse's own errors. */
export class OAuthOptionsError extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "OAuthOptionsError";
}

/** Reads the `--oauth-*` options; throws {@linkcode OAuthOptionsError} for a bad combination. */
export function oauthSignInSettings(
  args: ParsedArgs,
  env: Record<string, string>,
): OAuthSignInSettings {
  if (args.oauth_client_secret && !args.oauth_client_id) {
    throw new OAuthOptionsError("--oauth-client-secret needs --oauth-client-id.");
  }
  const port = args.oauth_callback_port;
  if (port !== null && port !== undefined && !(port >= 1 && port <= 65535)) {
    throw new OAuthOptionsError("--oauth-callback-port must be between 1 and 65535.");
  }
  return {
    clientId: args.oauth_client_id || undefined,
    clientSecret: args.oauth_client_secret || undefined,
    clientMetadataUrl: args.oauth_client_metadata_url || undefined,
    scope: args.oauth_scope || undefined,
    resourceIndicator: args.oauth_resource,
    callbackPort: port ?? undefined,
    tokenFile: args.oauth_token_file || env.MCP_PROXY_OAUTH_FILE || undefined,
    signOut: args.oauth_sign_out,
  };
}
