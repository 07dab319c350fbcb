/**
 * withId: a message's own JSON with only its id changed, or nothing when unsure.
 */
import assert from "node:assert/strict";
import { readsOneWay, withId } from "../../../src/protocol/wire_text.ts";

/** What a parser makes of `text`, to compare with the message the proxy would have sent. */
const parsed = (text: string | undefined) => text === undefined ? undefined : JSON.parse(text);

Deno.test("withId: the id after jsonrpc at the start (Python SDK order)", () => {
  const text = '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}]}}';
  const out = withId(text, 7, 1);
  assert.equal(out, '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}');
  assert.deepEqual(parsed(withId(text, 7, 'a "quoted"\nid')), {
    ...JSON.parse(text),
    id: 'a "quoted"\nid',
  });
});

Deno.test("withId: the id as the last member (TypeScript SDK order), errors too", () => {
  const text = '{"result":{"items":[{"uri":"a"}]},"jsonrpc":"2.0","id":12}';
  assert.deepEqual(parsed(withId(text, 12, "req-1")), { ...JSON.parse(text), id: "req-1" });
  const error = '{"jsonrpc":"2.0","error":{"code":-32601,"message":"no"},"id":12}';
  assert.deepEqual(parsed(withId(error, 12, 4)), { ...JSON.parse(error), id: 4 });
});

Deno.test("withId: refuses what it cannot place without parsing again", () => {
  // Spaces (Python's json.dumps defaults), the id in the middle, another number that starts alike.
  assert.equal(withId('{"jsonrpc": "2.0", "id": 7, "result": {}}', 7, 1), undefined);
  assert.equal(withId('{"jsonrpc":"2.0","result":{},"id":7,"x":1}', 7, 1), undefined);
  assert.equal(withId('{"jsonrpc":"2.0","id":70,"result":{}}', 7, 1), undefined);
  assert.equal(withId('{"result":{},"jsonrpc":"2.0","id":17}', 7, 1), undefined);
  assert.equal(withId('{"result":{},"jsonrpc":"2.0","ids":7}', 7, 1), undefined);
  // The same member again: a parser keeps the last, so neither end may be the one that counts.
  assert.equal(withId('{"jsonrpc":"2.0","id":7,"result":{},"id":7}', 7, 1), undefined);
  assert.equal(withId('{"result":{"id":7},"jsonrpc":"2.0","id":7}', 7, 1), undefined);
  // A line break between tokens is JSON whitespace, but it would end a stdio line or an SSE event.
  assert.equal(withId('{"jsonrpc":"2.0","id":7,\r"result":{}}', 7, 1), undefined);
  assert.equal(withId('{"jsonrpc":"2.0","id":7,"result":{}\n}', 7, 1), undefined);
  // A second top-level id another parser would take, however it is written.
  assert.equal(withId('{"jsonrpc":"2.0","id":7,"result":{},"id": 7}', 7, 1), undefined);
  assert.equal(withId('{"jsonrpc":"2.0","id":7,"result":{},"id":7.0}', 7, 1), undefined);
  assert.equal(withId('{"id":5,"result":{},"jsonrpc":"2.0","id":7}', 7, 1), undefined);
  assert.equal(withId('{"jsonrpc":"2.0","id":7,"result":{},"\\u0069d":7}', 7, 1), undefined);
  assert.equal(withId('{"i\\u0064":5,"result":{},"jsonrpc":"2.0","id":7}', 7, 1), undefined);
  // Any other "id", nested ones too: the safe side (such a message is serialized again).
  assert.equal(withId('{"jsonrpc":"2.0","id":7,"result":{"a":{"id":71}}}', 7, 1), undefined);
  assert.equal(withId('{"result":{"items":[{"id":3}]},"jsonrpc":"2.0","id":12}', 12, 1), undefined);
  // An id in text (escaped quotes) is no member: passed through.
  assert.equal(
    withId('{"jsonrpc":"2.0","id":7,"result":{"text":"{\\"id\\":1}"}}', 7, 1),
    '{"jsonrpc":"2.0","id":1,"result":{"text":"{\\"id\\":1}"}}',
  );
});

Deno.test("withId: a client's request, its id a string or a number, made the proxy's", () => {
  // The TypeScript SDK writes method and params first, the id last.
  const tail =
    '{"method":"tools/call","params":{"name":"n","arguments":{"big":12345678901234567890}},' +
    '"jsonrpc":"2.0","id":"c-1"}';
  assert.equal(
    withId(tail, "c-1", 17),
    '{"method":"tools/call","params":{"name":"n","arguments":{"big":12345678901234567890}},' +
      '"jsonrpc":"2.0","id":17}',
  );
  const lead = '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"caf\\u00e9"}}';
  assert.equal(
    withId(lead, 3, 18),
    '{"jsonrpc":"2.0","id":18,"method":"tools/call","params":{"name":"caf\\u00e9"}}',
  );
  // A string id written with another escape than JSON.stringify's is not found: parsed again.
  assert.equal(withId('{"jsonrpc":"2.0","id":"\\u0061","method":"m"}', "a", 1), undefined);
});

Deno.test("readsOneWay: a request whose routing keys a parser could read two ways is refused", () => {
  const plain = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"n","_meta":{}}}';
  assert.equal(readsOneWay(plain), true);
  // A repeated method, params or _meta: a parser that keeps the first sees another request (a
  // repeated id is withId's to refuse).
  assert.equal(withId('{"jsonrpc":"2.0","id":1,"method":"tools/list","id":2}', 2, 9), undefined);
  assert.equal(
    readsOneWay('{"jsonrpc":"2.0","id":1,"method":"initialize","method":"ping"}'),
    false,
  );
  assert.equal(readsOneWay('{"jsonrpc":"2.0","id":1,"method":"m","params":{},"params":{}}'), false);
  assert.equal(
    readsOneWay('{"jsonrpc":"2.0","id":1,"method":"m","params":{"_meta":{},"_meta":{}}}'),
    false,
  );
  // A key spelled with an escape, and a progress token the parse did not keep.
  assert.equal(readsOneWay('{"jsonrpc":"2.0","\\u0069d":1,"id":2,"method":"m"}'), false);
  assert.equal(readsOneWay('{"jsonrpc":"2.0","id":1,"method":"m","progressToken":3}'), false);
});
