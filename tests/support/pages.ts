/**
 * Walking a paginated MCP list (`tools/list`, `resources/list`, …) through its cursors.
 * @module
 */

/** A page of a list: its entries are the caller's to read, `nextCursor` says whether more follow. */
export interface Page {
  /** The cursor of the next page; absent on the last. */
  nextCursor?: string;
}

/**
 * Every page of a list, in order: `list(cursor)` fetches one (no cursor: the first), `items`
 * reads its entries.
 */
export async function allPages<P extends Page, T>(
  list: (cursor?: string) => Promise<P>,
  items: (page: P) => T[],
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    pages.push(items(page));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages;
}
