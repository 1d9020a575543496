/**
 * The chain the dashboard shows. Every row of the index carries its chainId (each chain's ids are
 * its own), so the dashboard shows one chain at a time: `?chain=<id>` in the page's address
 * (`/dashboard/?chain=8453#/overview`), or else the first chain the indexer reports at /status.
 */
import { DashboardError } from "./graphql.js";

const STATUS_URL = new URL("../status", window.location.href).toString();

let chosen: number | undefined;

/** Reads the indexed chains once and picks the one to show; call before the first page. */
export async function loadChain(): Promise<number> {
  let ids: number[] = [];
  try {
    const status = (await (await fetch(STATUS_URL)).json()) as Record<string, { id: number }>;
    ids = Object.values(status)
      .map((chain) => chain.id)
      .sort((a, b) => a - b);
  } catch {
    throw new DashboardError(`The indexer did not answer at ${STATUS_URL}: is it running?`);
  }
  const asked = new URLSearchParams(window.location.search).get("chain");
  if (asked !== null && !ids.includes(Number(asked))) {
    throw new DashboardError(`Chain “${asked}” is not indexed here: the chains are ${ids.join(", ") || "none yet"}.`);
  }
  chosen = asked !== null ? Number(asked) : (ids[0] ?? 31337);
  return chosen;
}

/** The chain shown (31337 until `loadChain` has answered). */
export function shownChainId(): number {
  return chosen ?? 31337;
}
