/**
 * withResponseId: a response's own JSON with only its id changed, or nothing when unsure.
 */
import assert from "node:assert/strict";
import { withResponseId } from "../../src/shared/wire_text.ts";

/** What a parser makes of `text`, to compare with the message the proxy would have sent. */
const parsed = (text: string | undefined) => text === undefined ? undefined : JSON.parse(text);

Deno.test("withResponseId: the id after jsonrpc at the start (Python SDK order)", () => {
  const text = '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}]}}';
  const out = withResponseId(text, 7, 1);
  assert.equal(out, '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}');
  assert.deepEqual(parsed(withResponseId(text, 7, 'a "quoted"\nid')), {
    ...JSON.parse(text),
    id: 'a "quoted"\nid',
  });
});

Deno.test("withResponseId: the id as the last member (TypeScript SDK order), errors too", () => {
  const text = '{"result":{"items":[{"id":3}]},"jsonrpc":"2.0","id":12}';
  assert.deepEqual(parsed(withResponseId(text, 12, "req-1")), { ...JSON.parse(text), id: "req-1" });
  const error = '{"jsonrpc":"2.0","error":{"code":-32601,"message":"no"},"id":12}';
  assert.deepEqual(parsed(withResponseId(error, 12, 4)), { ...JSON.parse(error), id: 4 });
});

Deno.test("withResponseId: refuses what it cannot place without parsing again", () => {
  // Spaces (Python's json.dumps defaults), the id in the middle, another number that starts alike.
  assert.equal(withResponseId('{"jsonrpc": "2.0", "id": 7, "result": {}}', 7, 1), undefined);
  assert.equal(withResponseId('{"jsonrpc":"2.0","result":{},"id":7,"x":1}', 7, 1), undefined);
  assert.equal(withResponseId('{"jsonrpc":"2.0","id":70,"result":{}}', 7, 1), undefined);
  // The same member again: a parser keeps the last, so neither end may be the one that counts.
  assert.equal(withResponseId('{"jsonrpc":"2.0","id":7,"result":{},"id":7}', 7, 1), undefined);
  assert.equal(withResponseId('{"result":{"id":7},"jsonrpc":"2.0","id":7}', 7, 1), undefined);
  // A carriage return between tokens is JSON whitespace, but it would split an SSE event.
  assert.equal(withResponseId('{"jsonrpc":"2.0","id":7,\r"result":{}}', 7, 1), undefined);
  // A nested member that merely looks alike is refused too (the safe side).
  assert.equal(
    withResponseId('{"jsonrpc":"2.0","id":7,"result":{"a":{"id":71}}}', 7, 1),
    undefined,
  );
});
