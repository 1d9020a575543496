/**
 * Keys and identities shared by the handlers: how addresses are spelled in keys, what "no invoice"
 * looks like, and how a second row made by the same event gets a unique, still chain-ordered id.
 */

/** A 0x-prefixed hex string (addresses, bytes32, transaction hashes). */
export type Hex = `0x${string}`;

/** The ERC-721 `from` of a mint, and the `oldTreasury` of the engine's constructor. */
export const ZERO_ADDRESS: Hex = "0x0000000000000000000000000000000000000000";

/** The single row of `protocolState` (current treasury, tax rate, cooldown). */
export const PROTOCOL_STATE_ID = 1;

/**
 * Lowercases an address or bytes32. Event arguments arrive checksummed (viem), while Ponder's
 * `t.hex()` stores lowercase; keys and comparisons must use one spelling, and this is it.
 */
export function normalizeHex(value: string): Hex {
  return value.toLowerCase() as Hex;
}

/** True for the zero address in any letter case: a mint's `from`, an unset treasury. */
export function isZeroAddress(address: string): boolean {
  return /^0x0{40}$/i.test(address);
}

/** `Slashed.invoiceId` 0 means "not tied to an invoice" (ids start at 1): stored as null. */
export function invoiceIdOrNull(invoiceId: bigint): bigint | null {
  return invoiceId === 0n ? null : invoiceId;
}

/**
 * Id of the n-th row of one kind made by one event: the event's own id (Ponder's fixed-width
 * checkpoint) for the first, then `${eventId}:${n}`. The suffix keeps the ids unique and sorting
 * in chain order, because every checkpoint has the same length.
 */
export function derivedRowId(eventId: string, index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`row index ${index} is not a natural number`);
  return index === 0 ? eventId : `${eventId}:${index}`;
}
