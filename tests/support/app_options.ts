/**
 * The options of an in-process server-mode application as the command line gives them by
 * default: a loopback bind (Host and Origin checked), no CORS, no API key, the default body limit.
 * @module
 */
import { DEFAULT_MAX_BODY_BYTES } from "../../src/config.ts";
import type { AppOptions } from "../../src/server/app.ts";

/** The default options of `createProxyApp` in tests; spread and override what a test needs. */
export const DEFAULT_APP_OPTIONS: AppOptions = {
  stateless: false,
  allowOrigins: [],
  exposeHeaders: [],
  host: "127.0.0.1",
  apiKeys: [],
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
};
