/**
 * Hono's router with its answers remembered: a server's routes are fixed once the app is built,
 * and its clients ask for a handful of paths (`/mcp`, `/servers/NAME/mcp`, `/messages/`) over
 * and over, so each method and path is searched for once.
 * @module
 */
import type { Router } from "../deps.ts";

/** Most answers kept; past it the cache starts again (paths a client makes up are not kept). */
const MAX_ENTRIES = 128;
/** Longest path whose answer is kept: a long server name is served, only searched each time. */
const MAX_PATH_CHARS = 256;

/**
 * `router` with the result of each `match` kept per method and path. Hono only reads a match
 * result (its handlers and parameters), so one result can serve every request for its path.
 * Adding a route forgets every answer.
 */
export class CachedRouter<T> implements Router<T> {
  readonly name: string;
  readonly #router: Router<T>;
  readonly #answers = new Map<string, ReturnType<Router<T>["match"]>>();

  /** `router`, with its answers kept. */
  constructor(router: Router<T>) {
    this.#router = router;
    this.name = `cached ${router.name}`;
  }

  add(method: string, path: string, handler: T): void {
    this.#answers.clear();
    this.#router.add(method, path, handler);
  }

  match(method: string, path: string): ReturnType<Router<T>["match"]> {
    if (path.length > MAX_PATH_CHARS) return this.#router.match(method, path);
    const key = `${method} ${path}`;
    let answer = this.#answers.get(key);
    if (answer === undefined) {
      answer = this.#router.match(method, path);
      if (this.#answers.size >= MAX_ENTRIES) this.#answers.clear();
      this.#answers.set(key, answer);
    }
    return answer;
  }
}
