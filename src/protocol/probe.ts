/**
 * Which era a stdio child speaks, found as the stdio transport's backward-compatibility
 * section says: `server/discover` first; a `DiscoverResult` offering the modern revision, or a
 * modern error naming it, means modern; any other error means legacy (and `initialize` follows
 * on the same child). A stdio child that reads the probe and then exits, or ignores it, is
 * legacy too, but is started again for its `initialize`: that is the caller's part.
 * @module
 */
import type { ChildExit } from "../runtime/mod.ts";
import { MODERN_PROTOCOL_VERSION } from "./jsonrpc.ts";
import {
  CLIENT_CAPABILITIES_KEY,
  CLIENT_INFO_KEY,
  type JsonObject,
  PROTOCOL_VERSION_KEY,
} from "./envelope.ts";

/** The era of a child, as `/status` reports it. */
export type ChildEra = "legacy" | "modern";

/** The params of the `server/discover` request that probes a peer's era. */
export function discoverParams(clientInfo: JsonObject): JsonObject {
  return {
    _meta: {
      [PROTOCOL_VERSION_KEY]: MODERN_PROTOCOL_VERSION,
      [CLIENT_CAPABILITIES_KEY]: {},
      [CLIENT_INFO_KEY]: clientInfo,
    },
  };
}

/**
 * The verdict of a probe answer: `modern` with the discover result, or `legacy` for any error
 * (a modern server's -32022 would name revisions other than ours: legacy to us all the same)
 * or a result that does not offer the modern revision.
 */
export function eraOfDiscoverAnswer(
  answer: JsonObject,
): { era: "modern"; discover: JsonObject } | { era: "legacy" } {
  const result = answer.result;
  if (typeof result !== "object" || result === null) return { era: "legacy" };
  const versions = (result as JsonObject).supportedVersions;
  return Array.isArray(versions) && versions.includes(MODERN_PROTOCOL_VERSION)
    ? { era: "modern", discover: result as JsonObject }
    : { era: "legacy" };
}

/**
 * How long a stdio child may take from its start to answering its handshake (the era probe,
 * then `initialize` for a legacy child). A first `uvx` or `npx` run downloads the server's
 * packages before it reads stdin: seconds, or a minute and more on a slow network.
 */
export const CHILD_START_TIMEOUT_MS = 120_000;

/**
 * After this long without an answer to `server/discover`, a `ping` (which servers of both eras
 * answer, if only with an error) asks whether the child reads its input yet; once it has
 * answered, `server/discover` (written before it) gets this long again. A child that still
 * says nothing ignores requests it does not know: a legacy server.
 */
export const PROBE_SILENCE_MS = 5_000;

/** The stdio child a probe speaks to. */
export interface ProbedChild {
  /** Sends a request of the proxy's own: resolves with its result, rejects on an error answer. */
  request(method: string, params?: JsonObject): Promise<unknown>;
  /** Settles once the child has exited and its output was read. */
  readonly closed: Promise<ChildExit>;
  /** Whether the child's stderr so far quotes `server/discover` (a crash report naming it). */
  quotedProbe(): boolean;
}

/**
 * How the probe of a stdio child ended:
 * - `modern`: it answered with a `DiscoverResult` offering the modern revision;
 * - `legacy`: it answered with anything else (`initialize` follows on the same child);
 * - `restart-legacy`: it read the probe and then exited (`exit`), or answered the `ping` but
 *   never the probe: a legacy server, to be started again with `initialize` first, since no
 *   handshake may follow one that is still unanswered;
 * - `exited`: it exited before it showed that it had read the probe, or after it answered it
 *   (while the ping's answer was awaited);
 * - `silent`: it answered nothing within the start timeout.
 */
export type ChildProbe =
  | { readonly verdict: "modern"; readonly discover: JsonObject }
  | { readonly verdict: "legacy" }
  | { readonly verdict: "restart-legacy"; readonly exit?: ChildExit }
  | { readonly verdict: "exited"; readonly exit: ChildExit }
  | { readonly verdict: "silent" };

/**
 * Probes a freshly started stdio child with `server/discover` and waits for the answer as long
 * as a start may take: a slow start is normal, and silence tells nothing until the child has
 * shown, by answering a `ping`, that it reads its input.
 */
export function probeChild(child: ProbedChild, clientInfo: JsonObject): Promise<ChildProbe> {
  const { promise, resolve } = Promise.withResolvers<ChildProbe>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let done = false;
  /** The ping, once sent: it settles when the child answers it (either way). */
  let ping: Promise<void> | undefined;
  let readsInput = false;
  let probeAnswered = false;
  const after = (ms: number, action: () => void) => {
    if (!done) timers.add(setTimeout(action, ms));
  };
  const settle = (outcome: ChildProbe) => {
    if (done) return;
    done = true;
    for (const timer of timers) clearTimeout(timer);
    resolve(outcome);
  };
  // A ping in flight is waited for (boundedly): its late answer would reach whatever comes next.
  const answered = (outcome: ChildProbe) => {
    probeAnswered = true;
    if (!ping) return settle(outcome);
    ping.then(() => settle(outcome));
    after(PROBE_SILENCE_MS, () => settle(outcome));
  };
  child.request("server/discover", discoverParams(clientInfo)).then(
    (result) => {
      const answer = eraOfDiscoverAnswer({ result: result as JsonObject });
      answered(
        answer.era === "modern"
          ? { verdict: "modern", discover: answer.discover }
          : { verdict: "legacy" },
      );
    },
    () => answered({ verdict: "legacy" }),
  );
  child.closed.then((exit) =>
    settle(
      !probeAnswered && (readsInput || child.quotedProbe())
        ? { verdict: "restart-legacy", exit }
        : { verdict: "exited", exit },
    )
  );
  after(CHILD_START_TIMEOUT_MS, () => settle({ verdict: "silent" }));
  after(PROBE_SILENCE_MS, () => {
    ping = child.request("ping").then(() => {}, () => {});
    ping.then(() => {
      readsInput = true;
      after(PROBE_SILENCE_MS, () => settle({ verdict: "restart-legacy" }));
    });
  });
  return promise;
}
