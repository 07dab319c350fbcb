/**
 * The lean benchmark's client-mode baseline: about the least a stdin→fetch relay can do. Each
 * stdin line is POSTed as it arrives (no waiting for earlier answers) to the Streamable HTTP URL;
 * a JSON answer is written to stdout as one line, an event-stream answer as its `data:` lines.
 * The `Mcp-Session-Id` from the first answer that carries one is sent from then on.
 * Run: `deno run -A bench/lean/minimal_client_relay.ts URL`.
 * @module
 */
if (import.meta.main) {
  const url = Deno.args[0];
  if (!url) throw new Error("usage: minimal_client_relay.ts URL");
  const stdout = Deno.stdout.writable.getWriter();
  const encoder = new TextEncoder();
  let session: string | null = null;

  const post = async (line: string) => {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    };
    if (session) headers["mcp-session-id"] = session;
    const response = await fetch(url, { method: "POST", headers, body: line });
    session ??= response.headers.get("mcp-session-id");
    const body = await response.text();
    if (!body) return;
    const out = response.headers.get("content-type")?.startsWith("text/event-stream")
      ? body.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim())
      : [body];
    await stdout.write(encoder.encode(out.join("\n") + "\n"));
  };

  let partial = "";
  for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    const lines = (partial + text).split("\n");
    partial = lines.pop()!;
    for (const line of lines) if (line.trim()) post(line).catch((e) => console.error(String(e)));
  }
}
