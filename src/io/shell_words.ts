/**
 * Splits a command string into words like a POSIX shell, exactly as Python's `shlex.split`
 * does (posix mode, no comments): quotes group, backslash escapes, nothing is expanded.
 * @module
 */

/** Thrown for an unclosed quote or a trailing backslash. */
export class ShellWordsError extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "ShellWordsError";
}

/** Splits `input` into words; throws {@linkcode ShellWordsError} when it cannot be parsed. */
export function splitShellWords(input: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < input.length; i++) {
    const char = input[i];
    if (quote === "'") {
      if (char === "'") quote = null;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = null;
      else if (char === "\\" && (input[i + 1] === '"' || input[i + 1] === "\\")) word += input[++i];
      else if (char === "\\" && i + 1 >= input.length) {
        throw new ShellWordsError("No escaped character");
      } else word += char;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      inWord = true;
      if (char === "'" || char === '"') quote = char;
      else if (char === "\\") {
        if (i + 1 >= input.length) throw new ShellWordsError("No escaped character");
        word += input[++i];
      } else word += char;
    }
  }
  if (quote) throw new ShellWordsError("No closing quotation");
  if (inWord) words.push(word);
  return words;
}
