/**
 * How the aggregate names what its members serve: a tool or prompt `NAME` of the member with
 * prefix `PREFIX` is `PREFIX` + separator + `NAME`, and one cursor walks the lists of every
 * member in order.
 *
 * The cursor is opaque to clients: base64url (no padding) of the JSON `{"s": SERVER, "c":
 * CURSOR}`, the member whose list the next page continues and that member's own cursor (absent:
 * its list from the start). It names the member rather than its place, so that a page asked
 * for after a config reload still continues the right list.
 * @module
 */
import { isObject } from "../../protocol/jsonrpc.ts";

/** Where a merged list continues: a member's name and that member's own cursor. */
export interface MergedCursor {
  /** The member whose list the page continues. */
  readonly server: string;
  /** The member's cursor; absent: its list from the start. */
  readonly cursor?: string;
}

/** The name a member's tool or prompt has in the aggregate. */
export function prefixedName(prefix: string, separator: string, name: string): string {
  return `${prefix}${separator}${name}`;
}

/**
 * The member a prefixed name belongs to and the name it has there, or `undefined` when no
 * member's prefix (and the separator) starts it. The prefixes are checked when the config is
 * read so that at most one can.
 */
export function ownerOfName<M extends { readonly prefix: string }>(
  members: readonly M[],
  separator: string,
  name: string,
): { member: M; name: string } | undefined {
  for (const member of members) {
    const start = member.prefix + separator;
    if (name.length > start.length && name.startsWith(start)) {
      return { member, name: name.slice(start.length) };
    }
  }
  return undefined;
}

/** The opaque text of `position`. */
export function encodeCursor(position: MergedCursor): string {
  const json = JSON.stringify(
    position.cursor === undefined
      ? { s: position.server }
      : { s: position.server, c: position.cursor },
  );
  const bytes = new TextEncoder().encode(json);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The position a cursor of {@linkcode encodeCursor} names; `undefined` if it is not one. */
export function decodeCursor(text: string): MergedCursor | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (!isObject(value) || typeof value.s !== "string") return undefined;
    if (value.c === undefined) return { server: value.s };
    return typeof value.c === "string" ? { server: value.s, cursor: value.c } : undefined;
  } catch {
    return undefined;
  }
}
