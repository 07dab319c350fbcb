/**
 * The options of one instance among several behind a load balancer: `--instance-id` (or
 * `MCP_PROXY_INSTANCE_ID`), `--peer-url`, the shared state key (`--state-key-file`, or
 * `MCP_PROXY_STATE_KEY`) and `--drain-timeout`.
 * @module
 */
import type { ScaleOutSettings } from "../config.ts";
import { isInstanceId } from "../protocol/request_state.ts";
import type { ParsedArgs } from "./parser.ts";
import { type SettingsContext, SettingsError } from "./settings_error.ts";

/**
 * `--instance-id` (or `MCP_PROXY_INSTANCE_ID`), `--peer-url` and the shared state key
 * (`--state-key-file`, or `MCP_PROXY_STATE_KEY`); none of them without an instance id.
 */
export async function scaleOut(
  args: ParsedArgs,
  ctx: SettingsContext,
): Promise<ScaleOutSettings | undefined> {
  const instanceId = args.instance_id ?? (ctx.env.MCP_PROXY_INSTANCE_ID?.trim() || undefined);
  if (instanceId === undefined) {
    if (args.peer_url || args.state_key_file) {
      throw new SettingsError("--peer-url and --state-key-file need --instance-id.", 2);
    }
    return undefined;
  }
  if (!isInstanceId(instanceId)) {
    throw new SettingsError(
      `Invalid instance id '${instanceId}': 1 to 64 letters, digits or '-'.`,
      2,
    );
  }
  const peerUrl = args.peer_url ?? undefined;
  if (peerUrl !== undefined && (!/^https?:\/\//.test(peerUrl) || !peerUrl.includes("{instance}"))) {
    throw new SettingsError(
      "--peer-url must be an http:// or https:// URL with {instance} in it.",
      2,
    );
  }
  let stateKey = ctx.env.MCP_PROXY_STATE_KEY?.trim() || undefined;
  if (args.state_key_file) {
    try {
      stateKey = (await ctx.readTextFile(args.state_key_file)).trim();
    } catch (error) {
      throw new SettingsError(
        `Could not read --state-key-file ${args.state_key_file}: ${(error as Error).message}`,
      );
    }
  }
  if (stateKey !== undefined && stateKey.length < 32) {
    throw new SettingsError(
      "The state key (--state-key-file or MCP_PROXY_STATE_KEY) must be at least 32 " +
        "characters; make one with: openssl rand -base64 32",
    );
  }
  return { instanceId, peerUrl, stateKey };
}

/** `--drain-timeout` in ms. */
export function drainTimeoutMs(args: ParsedArgs): number {
  if (!(args.drain_timeout >= 0)) {
    throw new SettingsError("--drain-timeout must be 0 or more seconds.", 2);
  }
  return args.drain_timeout * 1000;
}
