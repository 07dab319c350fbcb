/**
 * Where a JSON text stops being valid JSON, as a line and column: `JSON.parse` says so under
 * Deno (V8) but not under Bun (JavaScriptCore), whose messages carry no position.
 * @module
 */

/** A line and column (both from 1) in a text. */
export interface TextPosition {
  /** The line, from 1. */
  readonly line: number;
  /** The column on that line, from 1, in UTF-16 units. */
  readonly column: number;
}

const isDigit = (char: string | undefined) => char !== undefined && char >= "0" && char <= "9";

/** The offset at which `text` stops being valid JSON, or `undefined` when it is valid. */
export function jsonErrorOffset(text: string): number | undefined {
  let at = 0;
  const fail = (): never => {
    throw at;
  };
  const space = () => {
    while (at < text.length && " \t\n\r".includes(text[at])) at++;
  };
  const literal = (word: string) => {
    for (const char of word) {
      if (text[at] !== char) fail();
      at++;
    }
  };
  const string = () => {
    at++; // the opening quote
    for (;;) {
      if (at >= text.length) fail();
      const char = text[at];
      if (char === '"') return void at++;
      if (char < " ") fail();
      if (char !== "\\") {
        at++;
        continue;
      }
      at++;
      if ('"\\/bfnrt'.includes(text[at] ?? "x")) at++;
      else if (text[at] === "u") {
        at++;
        for (let digit = 0; digit < 4; digit++) {
          if (!/[0-9a-fA-F]/.test(text[at] ?? "")) fail();
          at++;
        }
      } else fail();
    }
  };
  const digits = () => {
    if (!isDigit(text[at])) fail();
    while (isDigit(text[at])) at++;
  };
  const number = () => {
    if (text[at] === "-") at++;
    if (text[at] === "0") at++;
    else digits();
    if (text[at] === ".") {
      at++;
      digits();
    }
    if (text[at] === "e" || text[at] === "E") {
      at++;
      if (text[at] === "+" || text[at] === "-") at++;
      digits();
    }
  };
  const value = (depth: number): void => {
    if (depth > 512) fail();
    space();
    const char = text[at];
    if (char === "{") {
      at++;
      space();
      if (text[at] === "}") return void at++;
      for (;;) {
        space();
        if (text[at] !== '"') fail();
        string();
        space();
        if (text[at] !== ":") fail();
        at++;
        value(depth + 1);
        space();
        if (text[at] === ",") at++;
        else if (text[at] === "}") return void at++;
        else fail();
      }
    }
    if (char === "[") {
      at++;
      space();
      if (text[at] === "]") return void at++;
      for (;;) {
        value(depth + 1);
        space();
        if (text[at] === ",") at++;
        else if (text[at] === "]") return void at++;
        else fail();
      }
    }
    if (char === '"') return string();
    if (char === "t") return literal("true");
    if (char === "f") return literal("false");
    if (char === "n") return literal("null");
    number();
  };
  try {
    value(0);
    space();
    return at < text.length ? at : undefined;
  } catch (offset) {
    if (typeof offset !== "number") throw offset;
    return offset;
  }
}

/** The line and column of `offset` in `text`. */
export function positionOf(text: string, offset: number): TextPosition {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}
