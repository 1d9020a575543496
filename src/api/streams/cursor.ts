/**
 * Cursors of the bot streams. A cursor is the `id` of a `slash` or `activity` row: Ponder's event
 * checkpoint, 75 digits (block timestamp 10, chain id 16, block number 16, transaction index 16,
 * event type 1, log index 16) that sort in chain order as plain strings, in JavaScript and in
 * PostgreSQL alike. Pure: no Ponder import, so the unit tests and the example bot can use it.
 * The checkpoint's layout is Ponder's: src/api/ponder-internals.ts reads it.
 */
import { CHECKPOINT_LENGTH, checkpointBlockNumber, checkpointChainId } from "../ponder-internals.js";

/** A row id, derived ids (`<checkpoint>:<n>`) included: they sort right after their event's id. */
const CURSOR_PATTERN = new RegExp(`^\\d{${CHECKPOINT_LENGTH}}(?::\\d{1,6})?$`);

/**
 * Where a stream starts: after a cursor (exclusive), from the very first row ("" sorts before every
 * id), or from the newest row at the moment the stream is opened.
 */
export type StreamStart = { kind: "after"; cursor: string } | { kind: "now" };

/** The cursor that sorts before every row: `?after=0` replays the whole history. */
export const BEGINNING = "";

/**
 * Parses `?after=` or `Last-Event-ID`: a 75-digit cursor, `0` (from the beginning) or `now`.
 * Returns undefined when malformed, so that the caller can answer 400 naming the parameter.
 */
export function parseStart(raw: string): StreamStart | undefined {
  const value = raw.trim();
  if (value === "now") return { kind: "now" };
  if (value === "0") return { kind: "after", cursor: BEGINNING };
  if (CURSOR_PATTERN.test(value)) return { kind: "after", cursor: value };
  return undefined;
}

/** True for a well-formed cursor (a row id). */
export function isCursor(value: string): boolean {
  return CURSOR_PATTERN.test(value);
}

/** The chain id encoded in a cursor. */
export function chainIdOfCursor(cursor: string): number {
  return checkpointChainId(cursor);
}

/** The block number encoded in a cursor. */
export function blockNumberOfCursor(cursor: string): bigint {
  return checkpointBlockNumber(cursor);
}

/**
 * The stable identity of an event, `chainId:txHash:logIndex`: what bots deduplicate by and what
 * webhooks send as the idempotency key. Unlike the cursor it does not change if a reorg re-includes
 * the same transaction in another block.
 */
export function stableEventId(chainId: number, txHash: string, logIndex: number): string {
  return `${chainId}:${txHash.toLowerCase()}:${logIndex}`;
}

/** The greater of two cursors ("" is the least). */
export function maxCursor(a: string, b: string): string {
  return a >= b ? a : b;
}
