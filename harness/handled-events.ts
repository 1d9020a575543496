/**
 * Which events the indexer handles: the `ponder.on("Contract:Event", ...)` registrations of src/.
 * Ponder fetches only the logs of events that have an indexing function, so these are the
 * benchmark's "indexed events" (the chain also carries ERC-721 Approval/ApprovalForAll and
 * OwnershipTransferred logs, which the indexer does not follow).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { type AbiEvent, type Hex, toEventSelector } from "viem";
import { InvoiceRegistryAbi } from "../abis/InvoiceRegistry.js";
import { SettlementEngineAbi } from "../abis/SettlementEngine.js";
import { StakeManagerAbi } from "../abis/StakeManager.js";
import { ROOT } from "../scripts/lib/compile.js";

const ABIS = {
  StakeManager: StakeManagerAbi,
  InvoiceRegistry: InvoiceRegistryAbi,
  SettlementEngine: SettlementEngineAbi,
};

/** "Contract:Event" names registered in src/*.ts. */
export function handledEvents(): Set<string> {
  const handled = new Set<string>();
  const dir = path.join(ROOT, "src");
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".ts"))) {
    const text = readFileSync(path.join(dir, file), "utf8");
    for (const match of text.matchAll(/ponder\.on\(\s*"(\w+):(\w+)"/g)) handled.add(`${match[1]}:${match[2]}`);
  }
  return handled;
}

/** Names of the handled events (without the contract), to count them in the ledger's eventCounts. */
export function handledNames(handled = handledEvents()): Set<string> {
  return new Set([...handled].map((name) => name.split(":")[1]));
}

/** topic0 of every handled event, for eth_getLogs' topic filter. */
export function handledSelectors(handled = handledEvents()): Hex[] {
  const selectors = new Set<Hex>();
  for (const name of handled) {
    const [contract, event] = name.split(":");
    const abi = ABIS[contract as keyof typeof ABIS];
    const item = abi?.find((entry) => entry.type === "event" && entry.name === event) as AbiEvent | undefined;
    if (item) selectors.add(toEventSelector(item));
  }
  return [...selectors];
}

/** Events of the ledger's eventCounts that the indexer handles. */
export function indexedEventCount(eventCounts: Record<string, number>, handled = handledEvents()): number {
  const names = handledNames(handled);
  return Object.entries(eventCounts).reduce((sum, [name, count]) => sum + (names.has(name) ? count : 0), 0);
}
