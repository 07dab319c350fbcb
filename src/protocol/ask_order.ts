/**
 * Which client requests may lead a server to ask the client something (sampling,
 * elicitation, roots) before it answers.
 * @module
 */

/**
 * Requests whose handlers only report or change what the session receives: a server answers
 * them from what it holds, without a question to the client. Every other request (tool calls,
 * prompts, reads, completions, and methods this proxy does not know) may ask.
 */
const ANSWERED_WITHOUT_ASKING: ReadonlySet<string> = new Set([
  "initialize",
  "ping",
  "tools/list",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
  "resources/subscribe",
  "resources/unsubscribe",
  "logging/setLevel",
]);

/** Whether the handler of a client request with `method` may ask the client something. */
export function mayAskClient(method: string): boolean {
  return !ANSWERED_WITHOUT_ASKING.has(method);
}
