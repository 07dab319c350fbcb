/**
 * The lean benchmark's stdio MCP server: answers every request line at once, so that whatever
 * sits in front of it is the only real cost. `initialize` gets a minimal legacy result (echoing
 * the client's protocol version), `tools/list` one `echo` tool (what a client's SDK checks the list
 * against); any other request gets a one-line text result echoing its id.
 * Notifications and responses are read and dropped. Run: `deno run bench/lean/echo_child.ts`.
 * @module
 */
import { LineSplitter } from "./lines.ts";

/** The text of every non-initialize result, so a checker can tell it was answered. */
export const ECHO_TEXT = "echo";

/** The answer line (without its newline) to one request line; `undefined` when none is due. */
export function answer(line: string): string | undefined {
  let message: { id?: unknown; method?: unknown; params?: { protocolVersion?: unknown } };
  try {
    message = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (message.id === undefined || message.id === null || typeof message.method !== "string") {
    return undefined;
  }
  const id = JSON.stringify(message.id);
  if (message.method === "initialize") {
    const version = JSON.stringify(message.params?.protocolVersion ?? "2025-06-18");
    return `{"jsonrpc":"2.0","id":${id},"result":{"protocolVersion":${version},` +
      `"capabilities":{"tools":{}},"serverInfo":{"name":"bench-echo","version":"1.0.0"}}}`;
  }
  if (message.method === "tools/list") {
    return `{"jsonrpc":"2.0","id":${id},"result":{"tools":[{"name":"echo",` +
      `"inputSchema":{"type":"object","properties":{"message":{"type":"string"}}}}]}}`;
  }
  return `{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"${ECHO_TEXT}"}],"echoId":${id}}}`;
}

async function main(): Promise<void> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const splitter = new LineSplitter();
  const stdout = Deno.stdout.writable.getWriter();
  for await (const chunk of Deno.stdin.readable) {
    let out = "";
    for (const line of splitter.push(decoder.decode(chunk, { stream: true }))) {
      const reply = answer(line);
      if (reply !== undefined) out += reply + "\n";
    }
    if (out) await stdout.write(encoder.encode(out));
  }
}

if (import.meta.main) await main();
