/**
 * Request checks, and the one route handler that runs them before the route's own: a check
 * answers a request it refuses, or lets it through (`undefined`); one that must read the body
 * to decide answers later.
 *
 * The guards are checks rather than Hono middleware because each middleware of a route is one
 * more asynchronous step of Hono's chain on every request (its promise and closures: about a
 * kilobyte of garbage per request per step), while a check that lets a request through is one
 * function call; a route of one handler also skips Hono's composition altogether. Middleware
 * that works on the answer (CORS) stays middleware.
 * @module
 */
import type { Context, Env } from "../../deps.ts";

/** A check's verdict: the answer refusing the request, or `undefined` to let it through. */
export type Refusal = Response | undefined;

/** A request check; see the module's doc. */
export type Check<E extends Env = Env> = (c: Context<E>) => Refusal | Promise<Refusal>;

/** A route's own handler, run once every check has let the request through. */
export type RouteHandler<E extends Env = Env> = (c: Context<E>) => Response | Promise<Response>;

/**
 * One handler running `checks` in order (the `undefined` ones are left out: guards that a
 * configuration does not need), then `handler`; the first refusal is the answer.
 */
export function guarded<E extends Env>(
  checks: readonly (Check<E> | undefined)[],
  handler: RouteHandler<E>,
): RouteHandler<E> {
  const steps = checks.filter((check) => check !== undefined);
  const from = (c: Context<E>, first: number): Response | Promise<Response> => {
    for (let i = first; i < steps.length; i++) {
      const refusal = steps[i](c);
      if (refusal === undefined) continue;
      if (refusal instanceof Response) return refusal;
      return refusal.then((answer) => answer ?? from(c, i + 1));
    }
    return handler(c);
  };
  return (c) => from(c, 0);
}
