/**
 * Where the tests find the Python tools that tests/support/install_python.ts installs: the
 * original `mcp-proxy`, and `uv`/`uvx` with a cache inside the checkout (so a test run leaves
 * nothing in the user's home).
 * @module
 */
import { ROOT } from "./paths.ts";

/** The venv holding the Python tools. */
export const PYTHON_VENV: string = `${ROOT}.tools/python`;

/**
 * What the venv holds, pinned; kubernetes-validate (with the Kubernetes schemas it ships) checks
 * deploy/kubernetes/, and opentelemetry-proto (the official OTLP protobuf definitions) decodes
 * what the proxy exports to the tests' OTLP receiver.
 */
export const PYTHON_PACKAGES: readonly string[] = [
  "mcp-proxy==0.13.0",
  "uv==0.13.9",
  "kubernetes-validate==1.37.0",
  "opentelemetry-proto==1.45.2",
  "protobuf==7.36.2",
];

/** The Python original's `mcp-proxy` executable (0.13.0). */
export const ORIGINAL_MCP_PROXY: string = `${PYTHON_VENV}/bin/mcp-proxy`;

/** `uvx`, to run PyPI servers such as `mcp-server-fetch` as the original's README does. */
export const UVX: string = `${PYTHON_VENV}/bin/uvx`;

/** `mcp-server-fetch`'s version the tests launch (`uvx mcp-server-fetch==…`). */
export const MCP_SERVER_FETCH = "mcp-server-fetch==2026.10.24";

/**
 * The environment `uv` runs with in tests: its cache and tool folders inside `.tools/`, and
 * the venv's `bin` first on PATH so that a command line saying just `uvx` finds it.
 */
export function uvEnvironment(): Record<string, string> {
  return {
    UV_CACHE_DIR: `${ROOT}.tools/uv-cache`,
    UV_TOOL_DIR: `${ROOT}.tools/uv-tools`,
    UV_PYTHON_INSTALL_DIR: `${ROOT}.tools/uv-python`,
    UV_NO_PROGRESS: "1",
    PATH: `${PYTHON_VENV}/bin:${Deno.env.get("PATH") ?? ""}`,
  };
}
