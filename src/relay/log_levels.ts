/**
 * MCP logging levels (RFC 5424 severities) and their order.
 * @module
 */

const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/** The rank of an MCP logging level (debug = 0 … emergency = 7), or `undefined` if unknown. */
export function levelRank(level: unknown): number | undefined {
  const rank = LEVELS.indexOf(level as string);
  return rank === -1 ? undefined : rank;
}

/** The level name of a rank from {@linkcode levelRank}. */
export function levelName(rank: number): string {
  return LEVELS[rank];
}
