/**
 * A message passed on as the text its peer wrote, with only its id changed: a child's response
 * going to its client, a client's request going to the child. Serializing a large message again
 * costs several times what rewriting the id in the text does (a 200 KB result: 190 µs against
 * 88; a request with 100 KB of arguments: 14 µs against 2), and the text keeps what a parse loses
 * (integers beyond 2^53, escapes as written).
 * @module
 */
import type { RequestId } from "./jsonrpc.ts";

/**
 * `text` (one JSON-RPC message, as parsed into a message whose id is `id`) with that id made
 * `newId`; `undefined` when the id's place cannot be told without parsing again.
 *
 * Only the two compact forms the SDKs write are recognised: the id right after
 * `"jsonrpc":"2.0"` at the start (the Python SDK's order) or as the last member (the
 * TypeScript SDK's). A member at either end is the top-level object's own. The same
 * `"id":<id>` anywhere else in the text is refused, so a repeated top-level id (a parser keeps
 * the last) can never be left unchanged, and so is a raw line break: whitespace to JSON, but the
 * end of a line on stdio and of an event on SSE.
 */
export function withId(text: string, id: RequestId, newId: RequestId): string | undefined {
  if (text.includes("\n") || text.includes("\r")) return undefined;
  const member = `"id":${JSON.stringify(id)}`;
  const newMember = `"id":${JSON.stringify(newId)}`;
  const lead = `{"jsonrpc":"2.0",${member},`;
  if (text.startsWith(lead)) {
    if (text.includes(member, lead.length)) return undefined;
    return `{"jsonrpc":"2.0",${newMember},${text.slice(lead.length)}`;
  }
  const tail = `,${member}}`;
  if (text.endsWith(tail)) {
    const start = text.length - tail.length;
    if (text.lastIndexOf(member, start) !== -1) return undefined;
    return `${text.slice(0, start)},${newMember}}`;
  }
  return undefined;
}
