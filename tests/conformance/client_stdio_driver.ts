/**
 * A small stdio MCP client for the conformance suite's client scenarios: it starts mcp-proxy
 * in client mode for the scenario's server URL (the last argument), lists the tools and calls
 * them: with the scenario's own arguments when its context names calls, else with arguments
 * made from each tool's input schema. The proxy is the HTTP client under test.
 * Usage: `conformance client --command "deno run -A tests/conformance/client_stdio_driver.ts"`.
 * @module
 */
import { drive } from "./drive.ts";
import { ProxyStdio } from "../support/proxy_stdio.ts";

const url = Deno.args.at(-1)!;
const context = JSON.parse(Deno.env.get("MCP_CONFORMANCE_CONTEXT") ?? "{}");

/** A value of each JSON Schema type, for a tool the scenario gave no arguments for. */
const SAMPLE: Record<string, unknown> = { number: 1, integer: 2, string: "x", boolean: true };

function argumentsFor(schema: { properties?: Record<string, { type?: string }> } | undefined) {
  const args: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema?.properties ?? {})) {
    if (property.type && property.type in SAMPLE) args[name] = SAMPLE[property.type];
  }
  return args;
}

const code = await drive(new ProxyStdio(["--debug", url]), async (client) => {
  const { tools } = await client.listTools();
  const calls: { name: string; arguments: Record<string, unknown> }[] = context.toolCalls ??
    tools.map((tool) => ({ name: tool.name, arguments: argumentsFor(tool.inputSchema as never) }));
  for (const call of calls) {
    await client.callTool(call).catch((error) => console.error(`driver: ${call.name}: ${error}`));
  }
});
Deno.exit(code);
