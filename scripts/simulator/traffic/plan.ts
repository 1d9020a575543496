/**
 * The shape of a run: how many rounds, how far apart in block time, and the block timestamp window
 * of one round. Pure arithmetic, shared by the CLI, the runner and the traffic.
 */
import type { Hex } from "../ledger.js";
import { SECONDS_PER_DAY } from "../mirror.js";

const DAY = SECONDS_PER_DAY;

export type Contracts = { token: Hex; stakeManager: Hex; registry: Hex; engine: Hex };

/**
 * The shape of a run: `ticks` rounds (one block each in fast mode, about one second each in real
 * time), the first at `startTimestamp + tickSeconds`, spreading `invoices` over the simulated span.
 */
export type RunPlan = { invoices: number; ticks: number; startTimestamp: number; tickSeconds: number };

/**
 * The block timestamp a round will get: exact when the simulator mines (fast mode), else bounds
 * (`earliest` is set on the chain before the round, `latest` allows for the blocks it takes).
 */
export type RoundWindow = { tick: number; earliest: number; latest: number; knownTimestamp: number | null };

/**
 * Blocks of a fast run when not given. Small runs get 8 blocks a day (4 up to 3,000 invoices), so
 * that intraday stories show. Big runs get few, full blocks: anvil recomputes the state root over
 * the whole state at every block (~1 µs per storage slot, ~9 slots per invoice), and its pool makes
 * each send cost more the fuller the next block is; √(invoices / 25) blocks balances the two (from
 * measurements: 10,000 invoices run fastest in ~30 blocks, 100,000 in ~60), but never under one a day.
 */
export function autoFastBlocks(invoices: number, days: number): number {
  if (invoices <= 1_000) return Math.round(days * 8);
  if (invoices <= 3_000) return Math.round(days * 4);
  return Math.max(Math.round(days), Math.round(Math.sqrt(invoices / 25)));
}

/** Fast mode: one block per round (never more rounds than invoices). */
export function planFastRun(invoices: number, days: number, startTimestamp: number, blocksPerDay?: number): RunPlan {
  const blocks = blocksPerDay === undefined ? autoFastBlocks(invoices, days) : Math.round(days * blocksPerDay);
  const ticks = Math.max(1, Math.min(invoices, blocks));
  return { invoices, ticks, startTimestamp, tickSeconds: (days * DAY) / ticks };
}

/** Real time: one round per second at `rate` invoices per second. */
export function planRealtimeRun(invoices: number, rate: number, days: number, startTimestamp: number): RunPlan {
  const ticks = Math.max(1, Math.ceil(invoices / rate));
  return { invoices, ticks, startTimestamp, tickSeconds: (days * DAY) / ticks };
}
