/**
 * The lean benchmark's baseline: about the least a Deno relay can do. `Deno.serve` on /mcp
 * writes each POST body as one line to one shared stdio child (with the id swapped for a
 * relay-unique one, so sessions that reuse ids do not collide) and returns the matching stdout
 * line as JSON. No validation, no features (other methods get 405); `initialize` gets a random `Mcp-Session-Id`.
 *
 * With `--checks`, it also reads the request headers any Streamable HTTP server must (the body's
 * length for a body limit, Host and Origin against DNS rebinding, the session, the protocol
 * version, Accept, Content-Type), refuses what fails the cheapest form of each check, and names
 * the session in every answer: the floor of a relay that keeps the protocol's rules, apart from
 * what it does with them.
 * Run: `deno run -A bench/lean/minimal_relay.ts [--checks] PORT -- command args…`.
 * @module
 */
type Message = { id?: string | number; method?: string };

/** Why `request` fails the checks every Streamable HTTP POST must pass, if it does. */
function refusal(request: Request, port: string): string | undefined {
  const headers = request.headers;
  if (Number(headers.get("content-length") ?? 0) > 4 * 1024 * 1024) return "body too large";
  if (headers.get("host") !== `127.0.0.1:${port}`) return "unexpected Host";
  const origin = headers.get("origin");
  if (origin !== null && origin !== `http://127.0.0.1:${port}`) return "unexpected Origin";
  if (!headers.get("accept")?.includes("application/json")) return "not acceptable";
  if (!headers.get("content-type")?.startsWith("application/json")) return "not JSON";
  const version = headers.get("mcp-protocol-version");
  if (version !== null && !/^\d{4}-\d\d-\d\d$/.test(version)) return "unknown protocol version";
}

if (import.meta.main) {
  const checks = Deno.args[0] === "--checks";
  const [port, separator, command, ...args] = Deno.args.slice(checks ? 1 : 0);
  if (separator !== "--" || !command) {
    throw new Error("usage: minimal_relay.ts [--checks] PORT -- command…");
  }
  const child = new Deno.Command(command, { args, stdin: "piped", stdout: "piped" }).spawn();
  const stdin = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const pending = new Map<number, (message: Message) => void>();
  let nextId = 0;

  (async () => {
    let partial = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        const message = JSON.parse(line) as Message;
        const resolve = pending.get(message.id as number);
        pending.delete(message.id as number);
        resolve?.(message);
      }
    }
  })();

  Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen() {} }, async (request) => {
    if (!request.url.endsWith("/mcp")) return new Response(null, { status: 404 });
    // No GET stream and no session to delete: 405, as the spec allows.
    if (request.method !== "POST") return new Response(null, { status: 405 });
    const refused = checks ? refusal(request, port) : undefined;
    if (refused) return new Response(refused, { status: 400 });
    const message = await request.json() as Message;
    if (message.id === undefined) {
      await stdin.write(encoder.encode(JSON.stringify(message) + "\n"));
      return new Response(null, { status: 202 });
    }
    const clientId = message.id;
    const relayId = nextId++;
    const answered = new Promise<Message>((resolve) => pending.set(relayId, resolve));
    await stdin.write(encoder.encode(JSON.stringify({ ...message, id: relayId }) + "\n"));
    const response = await answered;
    response.id = clientId;
    const headers: Record<string, string> = { "content-type": "application/json" };
    const session = checks ? request.headers.get("mcp-session-id") : null;
    if (session) headers["mcp-session-id"] = session;
    else if (message.method === "initialize") headers["mcp-session-id"] = crypto.randomUUID();
    return new Response(JSON.stringify(response), { headers });
  });
}
