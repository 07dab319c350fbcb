/**
 * MCP logging levels (RFC 5424 severities) and the policy of a shared upstream: it is asked for
 * the most verbose level any session wants, and each session gets only what it asked for.
 * @module
 */

/** The MCP logging levels, least severe first. */
export const LOG_LEVELS: readonly string[] = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
];

/** The rank of an MCP logging level (debug = 0 … emergency = 7), or `undefined` if unknown. */
export function levelRank(level: unknown): number | undefined {
  const rank = LOG_LEVELS.indexOf(level as string);
  return rank === -1 ? undefined : rank;
}

/** The logging level the upstream was asked for, derived from the sessions' levels. */
export class UpstreamLogLevel {
  #rank: number | undefined;

  /** The level to set upstream now (`undefined` when none was ever asked for). */
  get level(): string | undefined {
    return this.#rank === undefined ? undefined : LOG_LEVELS[this.#rank];
  }

  /**
   * Recomputes the level from the sessions' `levels`; returns the new level when it changed
   * (to send upstream). The level stays when no session asks for one any more.
   */
  update(levels: Iterable<string | undefined>): string | undefined {
    let lowest: number | undefined;
    for (const level of levels) {
      const rank = levelRank(level);
      if (rank !== undefined && (lowest === undefined || rank < lowest)) lowest = rank;
    }
    if (lowest === undefined || lowest === this.#rank) return undefined;
    this.#rank = lowest;
    return LOG_LEVELS[lowest];
  }
}

/** Whether a session that asked for `sessionLevel` (or nothing) gets a message at `level`. */
export function admits(sessionLevel: string | undefined, level: unknown): boolean {
  if (sessionLevel === undefined) return true;
  return (levelRank(level) ?? 0) >= (levelRank(sessionLevel) ?? 0);
}
