/**
 * Descriptions for introspection. A column's description is its JSDoc comment in ponder.schema.ts
 * when it has one (read from the file, so the schema stays the one source), else a sentence made
 * from its name and type; a table's is the SPEC's line about it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { type ColumnKind, columnKind, type TableInfo } from "./tables.js";

/** What each table holds (docs/rules.md, "Data model"). */
const TABLES: Record<string, string> = {
  account:
    "Totals per address and chain: spent (as caller), earned, claimed, claimable, stake, pending unstake, slashed, invoice counts.",
  model: "A registered model: its provider, current terms and lifetime counters.",
  invoice: "An AI-service invoice: parties, service measured, provenance, pricing terms, lifecycle and settlement.",
  invoiceShare:
    "A contributor's share of an invoice (by position): role, basis points, and what it was credited at settlement.",
  datasetUse: "A dataset an invoice lists (by position).",
  dataset: "A dataset: its datanet and version, how many invoices used it and the tokens served with it.",
  invoiceTransfer: "A change of an invoice's holder (an ERC-721 transfer).",
  bundle: "A bundle of invoices that move together: owner, face value, outstanding, earned, dissolved.",
  payout: "One PayoutCredited: an account credited for an invoice's settlement, with its role.",
  claim: "One EarningsClaimed: an account withdrew its claimable OPEN.",
  stakeChange: "Every stake, unstake request, unstake and slash, with the active and pending stake after it.",
  unstakeRequest: "A pending or withdrawn unstake request.",
  slash: "One Slashed event: staker, invoice, reason, amount and the stake left.",
  rateChange: "Tax-rate, model-terms, cooldown and treasury history.",
  activity: "One row per indexed event: an invoice's or an account's whole story.",
  earningsDaily: "OPEN credited per account, role and UTC day.",
  modelDaily: "A model's figures per UTC day: issuance on the day of issuance, settlement on the day of settlement.",
  protocolDaily: "The protocol's figures per UTC day.",
  anomaly: "An event the indexer could not apply as the contracts promise; recorded, never fatal.",
  protocolState: "Protocol-wide state per chain: treasury, tax rate, cooldown.",
};

/** Words for columns that mean the same in every table. */
const COMMON: Record<string, string> = {
  chainId: "EIP-155 id of the chain the row comes from (first in every primary key).",
  id: "Ponder's event id: a checkpoint string that sorts in chain order, unique per (transaction, log).",
  blockNumber: "Block of the event that made or last changed the row.",
  timestamp: "Unix seconds of that block.",
  txHash: "Hash of the transaction of the event.",
  logIndex: "Index of the event's log in its block.",
  invoiceId: "The invoice's id (per chain).",
  day: "UTC day: days since 1970-01-01 (floor(timestamp / 86400)).",
};

const KIND_WORDS: Record<ColumnKind, string> = {
  int: "integer",
  bigint: "integer of any size, as a decimal string (amounts in OPEN wei)",
  float: "number",
  boolean: "boolean",
  string: "text",
  hex: "0x-prefixed hex (lowercase)",
  list: "list",
  json: "JSON",
};

let parsed: Record<string, Record<string, string>> | undefined;

/** JSDoc comments of ponder.schema.ts: table → column → text. Empty if the file cannot be read. */
function schemaComments(): Record<string, Record<string, string>> {
  if (parsed) return parsed;
  parsed = {};
  let source = "";
  try {
    source = readFileSync(path.join(process.cwd(), "ponder.schema.ts"), "utf8");
  } catch {
    return parsed;
  }
  const clean = (comment: string) =>
    comment
      .split("\n")
      .map((line) => line.replace(/^\s*\*\s?/, "").trim())
      .join(" ")
      .replace(/\s+/g, " ")
      .trim();
  const blocks = source.split(/export const /).slice(1);
  for (const block of blocks) {
    const name = /^(\w+) = onchainTable\(/.exec(block)?.[1];
    if (!name) continue;
    const columns: Record<string, string> = {};
    for (const match of block.matchAll(/\/\*\*([\s\S]*?)\*\/\s*(\w+):/g)) columns[match[2]!] = clean(match[1]!);
    parsed[name] = columns;
  }
  return parsed;
}

/** A table's description. */
export function tableDescription(info: TableInfo): string {
  return TABLES[info.name] ?? `A row of the ${info.name} table.`;
}

/** A column's description. */
export function columnDescription(info: TableInfo, name: string): string {
  const own = schemaComments()[info.name]?.[name];
  const kind = KIND_WORDS[columnKind(info.columns[name]!)];
  if (own) return `${own} (${kind})`;
  if (COMMON[name]) return `${COMMON[name]} (${kind})`;
  const words = name.replace(/([A-Z])/g, " $1").toLowerCase();
  return `The ${info.name}'s ${words} (${kind}).`;
}
