/**
 * The lean load generator's clients: plain `fetch` (and one stdio pipe for client mode), no
 * SDK. Each exposes `call()`, one `tools/call` whose answer is checked: it must be a result
 * (not an error) carrying the request's id.
 * @module
 */
import { LineSplitter } from "./lines.ts";

/** The protocol version legacy sessions ask for. */
export const LEGACY_VERSION = "2025-11-25";
/** The protocol version modern-era requests carry. */
export const MODERN_VERSION = "2026-07-28";

/** One client of the system under test; `call()` makes one checked echo call. */
export interface LeanClient {
  /** One `tools/call`, resolved once its answer came back with the right id. */
  call(): Promise<void>;
  /** Releases the client's connection or process. */
  close(): Promise<void>;
}

/** A JSON-RPC answer as the clients read it. */
export type Answer = { id?: unknown; result?: unknown; error?: { message?: string } };

/** The params of every legacy client's `initialize`. */
export const INITIALIZE_PARAMS = {
  protocolVersion: LEGACY_VERSION,
  capabilities: {},
  clientInfo: { name: "mcp-proxy-lean-bench", version: "0.1.0" },
};
/** The params of every echo call. */
export const ECHO_PARAMS = { name: "echo", arguments: { message: "hello" } };

/** The headers every POST of the HTTP clients carries. */
export const POST_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** The headers of a modern-era (2026-07-28) echo call: no session, the request named. */
export const MODERN_HEADERS: Readonly<Record<string, string>> = {
  ...POST_HEADERS,
  "mcp-protocol-version": MODERN_VERSION,
  "mcp-method": "tools/call",
  "mcp-name": ECHO_PARAMS.name,
};

/** The params of a modern-era echo call: the echo's, with the `_meta` envelope. */
export const MODERN_ECHO_PARAMS = {
  ...ECHO_PARAMS,
  _meta: {
    "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": INITIALIZE_PARAMS.clientInfo,
  },
};

/** A request line (without newline). */
export function requestLine(id: number, method: string, params: unknown): string {
  return JSON.stringify({ jsonrpc: "2.0", id, method, params });
}

/** Throws unless `answer` is a result for request `id`. */
export function checkAnswer(answer: Answer | undefined, id: number, what: string): void {
  if (answer?.id !== id || answer.result === undefined) {
    throw new Error(
      `${what}: expected a result for id ${id}, got ${JSON.stringify(answer)?.slice(0, 200)}`,
    );
  }
}

/** The JSON-RPC message answering `id` in a Streamable HTTP response (JSON or event stream). */
export async function readAnswer(
  response: Response,
  id: number,
  what: string,
): Promise<Answer> {
  if (!response.ok) {
    throw new Error(`${what}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
  }
  if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
    for (const line of (await response.text()).split("\n")) {
      if (!line.startsWith("data:")) continue;
      const message = JSON.parse(line.slice(5)) as Answer;
      if (message.id === id) return message;
    }
    throw new Error(`${what}: the event stream ended without an answer to id ${id}`);
  }
  return await response.json() as Answer;
}

/** Echo calls POSTed with `headers`, each with the next id, each answer checked. */
export function httpCaller(
  url: string,
  headers: Readonly<Record<string, string>>,
  params: unknown,
  what: string,
): () => Promise<void> {
  let nextId = 1;
  return async () => {
    const id = nextId++;
    const body = requestLine(id, "tools/call", params);
    checkAnswer(
      await readAnswer(await fetch(url, { method: "POST", headers, body }), id, what),
      id,
      what,
    );
  };
}

/**
 * A legacy-era Streamable HTTP session: `initialize`, then calls with its session header, of
 * the echo tool under the name `tool` (an aggregate's prefixed name).
 */
export async function legacyHttpClient(url: string, tool = ECHO_PARAMS.name): Promise<LeanClient> {
  const headers: Record<string, string> = { ...POST_HEADERS };
  const response = await fetch(url, {
    method: "POST",
    headers,
    body: requestLine(0, "initialize", INITIALIZE_PARAMS),
  });
  checkAnswer(await readAnswer(response, 0, "initialize"), 0, "initialize");
  const session = response.headers.get("mcp-session-id");
  if (session) headers["mcp-session-id"] = session;
  headers["mcp-protocol-version"] = LEGACY_VERSION;
  const initialized = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  await initialized.body?.cancel();
  if (!initialized.ok) throw new Error(`notifications/initialized: HTTP ${initialized.status}`);
  return {
    call: httpCaller(url, headers, { ...ECHO_PARAMS, name: tool }, "tools/call"),
    async close() {
      if (!session) return;
      await fetch(url, { method: "DELETE", headers }).then((r) => r.body?.cancel(), () => {});
    },
  };
}

/**
 * A modern-era (2026-07-28) client: no handshake, no session; every request carries the
 * `_meta` envelope and the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers.
 */
export function modernHttpClient(url: string): LeanClient {
  return {
    call: httpCaller(url, MODERN_HEADERS, MODERN_ECHO_PARAMS, "tools/call (modern)"),
    close: () => Promise.resolve(),
  };
}

/** Answers awaited by id, for transports where answers arrive on a separate stream. */
class PendingAnswers {
  #waiting = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  #closed: Error | undefined;

  /** Resolves with the answer to `id` once {@linkcode deliver} sees it. */
  wait(id: number): Promise<Answer> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
  }

  /** Hands a parsed message to whoever waits for its id. */
  deliver(line: string): void {
    const message = JSON.parse(line) as Answer;
    const waiter = this.#waiting.get(message.id as number);
    if (!waiter) return;
    this.#waiting.delete(message.id as number);
    waiter.resolve(message);
  }

  /** Fails every current and future wait. */
  close(reason: Error): void {
    this.#closed = reason;
    for (const waiter of this.#waiting.values()) waiter.reject(reason);
    this.#waiting.clear();
  }
}

/**
 * The legacy handshake over a transport whose answers arrive apart from the sends
 * (`initialize`, then `notifications/initialized`); resolves with the echo call.
 */
async function handshake(
  answers: PendingAnswers,
  send: (line: string) => Promise<void>,
): Promise<() => Promise<void>> {
  const request = async (id: number, method: string, params: unknown) => {
    const answer = answers.wait(id);
    await send(requestLine(id, method, params));
    checkAnswer(await answer, id, method);
  };
  await request(0, "initialize", INITIALIZE_PARAMS);
  await send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  let nextId = 1;
  return () => request(nextId++, "tools/call", ECHO_PARAMS);
}

/**
 * A legacy SSE session: the GET stream gives the POST endpoint and carries the answers. `fetchFn`
 * reaches the server (the in-process bench passes its application's handler).
 */
export async function sseClient(url: string, fetchFn: typeof fetch = fetch): Promise<LeanClient> {
  const abort = new AbortController();
  const stream = await fetchFn(url, {
    headers: { accept: "text/event-stream" },
    signal: abort.signal,
  });
  if (!stream.ok || !stream.body) throw new Error(`GET ${url}: HTTP ${stream.status}`);
  const answers = new PendingAnswers();
  const endpoint = Promise.withResolvers<string>();
  const reading = (async () => {
    let event = "message";
    const splitter = new LineSplitter();
    for await (const text of stream.body!.pipeThrough(new TextDecoderStream())) {
      for (const line of splitter.push(text)) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) {
          const data = line.slice(5).trim();
          if (event === "endpoint") endpoint.resolve(new URL(data, url).href);
          else answers.deliver(data);
        } else if (line === "") event = "message";
      }
    }
  })().catch(() => {}).finally(() => {
    const ended = new Error("the SSE stream ended");
    endpoint.reject(ended);
    answers.close(ended);
  });
  const postUrl = await endpoint.promise;
  const post = async (body: string) => {
    const response = await fetchFn(postUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`POST ${postUrl}: HTTP ${response.status}`);
  };
  return {
    call: await handshake(answers, post),
    async close() {
      abort.abort();
      await reading;
    },
  };
}

/** A client-mode process on stdio: request lines to its stdin, answers from its stdout. */
export interface StdioLink {
  /** Its stdin. */
  stdin: WritableStream<Uint8Array>;
  /** Its stdout. */
  stdout: ReadableStream<Uint8Array>;
}

/**
 * A legacy session through a client-mode relay on stdio; several slots may call at once (each
 * call has its own id). Resolves after `initialize` is answered.
 */
export async function stdioClient(link: StdioLink): Promise<LeanClient> {
  const writer = link.stdin.getWriter();
  const encoder = new TextEncoder();
  const answers = new PendingAnswers();
  const reading = (async () => {
    const splitter = new LineSplitter();
    for await (const text of link.stdout.pipeThrough(new TextDecoderStream())) {
      for (const line of splitter.push(text)) if (line.trim()) answers.deliver(line);
    }
  })().catch(() => {}).finally(() => answers.close(new Error("the relay's stdout ended")));
  const send = (line: string) => writer.write(encoder.encode(line + "\n"));
  return {
    call: await handshake(answers, send),
    async close() {
      await writer.close().catch(() => {});
      await reading;
    },
  };
}
