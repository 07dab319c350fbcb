/**
 * An in-process stand-in for a shared stdio server, for testing the HTTP side alone: it
 * answers `initialize`, `tools/list`, `ping` and an `echo` tool that reports progress and
 * logs while it runs, as the multiplexer would (replies carry the client's own request id).
 * @module
 */
import { DEFAULT_SERVING_LIMITS, type ServingLimits } from "../../src/config.ts";
import type { RequestId, WireMessage } from "../../src/protocol/jsonrpc.ts";
import type { ClientSink, MuxSession, ServerState, SharedServer } from "../../src/core/types.ts";

interface Message {
  id?: RequestId;
  method?: string;
  params?: {
    protocolVersion?: string;
    arguments?: unknown;
    _meta?: { progressToken?: string | number };
  };
}

/** A fake {@linkcode SharedServer}; `sessions` counts the open multiplexer sessions. */
export class FakeSharedServer implements SharedServer {
  state: ServerState = "running";
  readonly era = "legacy" as const;
  sessions = 0;
  /** Every message received, per session, in order. */
  readonly received: WireMessage[] = [];
  /** The sink of every session opened, in order, to push messages from tests. */
  readonly sinks: ClientSink[] = [];

  constructor(readonly name = "default", readonly limits: ServingLimits = DEFAULT_SERVING_LIMITS) {}

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.state = "stopped";
    return Promise.resolve();
  }

  onStateChange(): () => void {
    return () => {};
  }

  openSession(sink: ClientSink): MuxSession {
    this.sessions++;
    this.sinks.push(sink);
    let open = true;
    const reply = (id: RequestId, body: Record<string, unknown>) =>
      setTimeout(() => open && sink.send({ jsonrpc: "2.0", id, ...body }, id), 1);
    return {
      receive: ({ message: raw }) => {
        this.received.push(raw);
        const message = raw as Message;
        if (message.id === undefined || message.method === undefined) return;
        const id = message.id;
        switch (message.method) {
          case "initialize":
            return reply(id, {
              result: {
                protocolVersion: message.params?.protocolVersion,
                capabilities: { tools: {}, logging: {} },
                serverInfo: { name: "fake", version: "1.0.0" },
              },
            });
          case "ping":
            return reply(id, { result: {} });
          case "tools/list":
            return reply(id, {
              result: { tools: [{ name: "echo", inputSchema: { type: "object" } }] },
            });
          case "tools/call": {
            const token = message.params?._meta?.progressToken;
            if (token !== undefined) {
              sink.send({
                jsonrpc: "2.0",
                method: "notifications/progress",
                params: { progressToken: token, progress: 1, total: 2 },
              }, id);
            }
            sink.send({
              jsonrpc: "2.0",
              method: "notifications/message",
              params: { level: "info", data: `echo ${JSON.stringify(message.params?.arguments)}` },
            }, id);
            return reply(id, {
              result: {
                content: [{ type: "text", text: JSON.stringify(message.params?.arguments) }],
              },
            });
          }
          default:
            return reply(id, { error: { code: -32601, message: "Method not found" } });
        }
      },
      close: () => {
        if (open) this.sessions--;
        open = false;
      },
    };
  }
}
