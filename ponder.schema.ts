/**
 * The relational model of docs/rules.md ("Data model"): table and column names are the spec's (GraphQL names follow).
 * Amounts are OPEN wei (bigint), invoice/bundle/request ids bigint, addresses and bytes32 hex.
 * Rows made from an event carry `blockNumber`, `timestamp` and `txHash`. Event rows are keyed by
 * `id` = Ponder's event id, a checkpoint string that sorts in chain order (block timestamp, chain,
 * block, transaction index, log index): it is the cursor bots page by, and unique per (tx, log).
 *
 * Several chains: every table has `chainId` (the EIP-155 id of the chain the row comes from) first
 * in its primary key, so ids the contracts hand out per chain (invoice, bundle and request ids,
 * accounts, models, days) never collide: `invoice` is keyed by (chainId, invoiceId), event rows by
 * (chainId, id), `protocolDaily` by (chainId, day). Relations join on chainId too, and GraphQL's
 * singular lookups take it: `invoice(chainId: 1, invoiceId: "7")`. Totals across chains are sums
 * over chainId (README, "Several chains").
 *
 * The tables are defined by domain in `schema/` (a folder of its own: every file under `src/` is
 * indexing code to Ponder) and re-exported here, in this order, which is the order of the GraphQL
 * schema's types. Ponder's build id hashes this file's text only, not the files it re-exports: the
 * digest below changes it with every change in schema/ (test/schema-files.test.ts checks it and
 * prints the new one).
 */
// schema/ digest: 7ddd0b6ce96f94ef
// biome-ignore assist/source/organizeImports: this order is the order of Ponder's tables, SQL and GraphQL types
export * from "./schema/accounts.js";
export * from "./schema/invoices.js";
export * from "./schema/earnings.js";
export * from "./schema/stakes.js";
export * from "./schema/feed.js";
export * from "./schema/daily.js";
export * from "./schema/indexer.js";
export * from "./schema/relations.js";
