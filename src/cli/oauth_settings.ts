/**
 * The `--oauth-*` options (mcp-proxy additions): how client mode signs in to a remote that
 * asks for OAuth.
 * @module
 */
import type { ParsedArgs } from "./parser.ts";

/** How client mode signs in with the authorization-code flow. */
export interface OAuthSignInSettings {
  /** A pre-registered client (`--oauth-client-id`), instead of dynamic registration. */
  clientId?: string;
  /** Its secret (`--oauth-client-secret`), for a confidential client. */
  clientSecret?: string;
  /** A client ID metadata document URL (`--oauth-client-metadata-url`). */
  clientMetadataUrl?: string;
  /** Scopes to ask for, space-separated. */
  scope?: string;
  /** Whether the RFC 8707 `resource` parameter is sent. */
  resourceIndicator: boolean;
  /** A fixed loopback callback port; free when absent. */
  callbackPort?: number;
  /** The token file (`--oauth-token-file`, `MCP_PROXY_OAUTH_FILE`); the default when absent. */
  tokenFile?: string;
  /** Delete the stored tokens for the URL and exit instead of relaying. */
  signOut: boolean;
}

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
