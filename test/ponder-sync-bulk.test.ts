/**
 * patches/ponder+0.17.7.patch writes Ponder's RPC cache (`ponder_sync.logs`, `blocks`,
 * `transactions`) as one json parameter per statement instead of drizzle's one parameter per value
 * (docs/ponder-patches.md). What must not change: every cached row equals what the RPC answered,
 * column by column, on PGlite and on PostgreSQL, in the backfill and in real time. The crash and
 * reorg suites (npm run test:reliability) run with the same patch: a crash in the middle of these
 * writes still resumes, and a reorg still rolls them back.
 */
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { type Address, type Hex, hexToBigInt } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { mineToFinality } from "../harness/chain.js";
import { handledSelectors } from "../harness/handled-events.js";
import { startPonder } from "../harness/ponder.js";
import { type PostgresCluster, postgresUnavailableReason, psql, startPostgres } from "../harness/postgres.js";
import { waitFor } from "../harness/wait.js";
import { rpc } from "../scripts/lib/anvil.js";
import { startSlashChain } from "./helpers/bots.js";
import { type SimulatedChain, simulatedChain } from "./helpers/indexed-chain.js";

type RpcLog = {
  blockNumber: Hex;
  logIndex: Hex;
  transactionIndex: Hex;
  blockHash: Hex;
  transactionHash: Hex;
  address: Address;
  topics: Hex[];
  data: Hex;
};
type RpcBlock = Record<string, Hex | null | undefined> & { transactions: RpcTransaction[] };
type RpcTransaction = Record<string, Hex | null | undefined> & { accessList?: unknown[] };

/** Decimal text of a hex quantity, or null: how the SQL below prints numeric columns. */
const decimal = (value: Hex | null | undefined) => (value ? hexToBigInt(value).toString() : null);

/** The three cached tables, one JSON array each, in a fixed order; numbers as text. */
const CACHE_QUERIES = {
  logs: `SELECT coalesce(json_agg(row ORDER BY row.block_number::numeric, row.log_index), '[]') FROM (
    SELECT chain_id::text, block_number::text, log_index, transaction_index, block_hash, transaction_hash,
      address, topic0, topic1, topic2, topic3, data FROM ponder_sync.logs) row`,
  blocks: `SELECT coalesce(json_agg(row ORDER BY row.number::numeric), '[]') FROM (
    SELECT chain_id::text, number::text, timestamp::text, hash, parent_hash, logs_bloom, miner, gas_used::text,
      gas_limit::text, base_fee_per_gas::text, nonce, mix_hash, state_root, receipts_root, transactions_root,
      sha3_uncles, size::text, difficulty::text, total_difficulty::text, extra_data FROM ponder_sync.blocks) row`,
  transactions: `SELECT coalesce(json_agg(row ORDER BY row.block_number::numeric, row.transaction_index), '[]') FROM (
    SELECT chain_id::text, block_number::text, transaction_index, hash, block_hash, "from", "to", input,
      value::text, nonce, r, s, v::text, type, gas::text, gas_price::text, max_fee_per_gas::text,
      max_priority_fee_per_gas::text, access_list FROM ponder_sync.transactions) row`,
} as const;

type Cache = Record<keyof typeof CACHE_QUERIES, Record<string, unknown>[]>;

async function readCache(run: (sql: string) => Promise<unknown>): Promise<Cache> {
  const cache = {} as Cache;
  for (const [table, sql] of Object.entries(CACHE_QUERIES)) {
    const value = await run(sql);
    cache[table as keyof Cache] = (typeof value === "string" ? JSON.parse(value) : value) as Record<string, unknown>[];
  }
  return cache;
}

/** What the cache should hold, from the RPC itself: the handled logs, their blocks and transactions. */
async function expectedCache(rpcUrl: string, chainId: number, addresses: Address[], head: number): Promise<Cache> {
  const logs = await rpc<RpcLog[]>(rpcUrl, "eth_getLogs", [
    { fromBlock: "0x0", toBlock: `0x${head.toString(16)}`, address: addresses, topics: [handledSelectors()] },
  ]);
  const blockNumbers = [...new Set(logs.map((log) => log.blockNumber))];
  const blocks = await Promise.all(
    blockNumbers.map((number) => rpc<RpcBlock>(rpcUrl, "eth_getBlockByNumber", [number, true])),
  );
  const logTransactions = new Set(logs.map((log) => log.transactionHash));
  const transactions = blocks.flatMap((block) =>
    block.transactions.filter((tx) => logTransactions.has(tx.hash as Hex)),
  );
  const chain = String(chainId);
  return {
    logs: logs.map((log) => ({
      chain_id: chain,
      block_number: decimal(log.blockNumber),
      log_index: Number(log.logIndex),
      transaction_index: Number(log.transactionIndex),
      block_hash: log.blockHash,
      transaction_hash: log.transactionHash,
      address: log.address.toLowerCase(),
      topic0: log.topics[0] ?? null,
      topic1: log.topics[1] ?? null,
      topic2: log.topics[2] ?? null,
      topic3: log.topics[3] ?? null,
      data: log.data,
    })),
    blocks: blocks.map((block) => ({
      chain_id: chain,
      number: decimal(block.number),
      timestamp: decimal(block.timestamp),
      hash: block.hash,
      parent_hash: block.parentHash,
      logs_bloom: block.logsBloom,
      miner: block.miner?.toLowerCase(),
      gas_used: decimal(block.gasUsed),
      gas_limit: decimal(block.gasLimit),
      base_fee_per_gas: decimal(block.baseFeePerGas),
      nonce: block.nonce ?? null,
      mix_hash: block.mixHash ?? null,
      state_root: block.stateRoot,
      receipts_root: block.receiptsRoot,
      transactions_root: block.transactionsRoot,
      sha3_uncles: block.sha3Uncles ?? null,
      size: decimal(block.size),
      difficulty: decimal(block.difficulty),
      total_difficulty: decimal(block.totalDifficulty),
      extra_data: block.extraData,
    })),
    transactions: transactions.map((tx) => ({
      chain_id: chain,
      block_number: decimal(tx.blockNumber),
      transaction_index: Number(tx.transactionIndex),
      hash: tx.hash,
      block_hash: tx.blockHash,
      from: tx.from?.toLowerCase(),
      to: tx.to ? tx.to.toLowerCase() : null,
      input: tx.input,
      value: decimal(tx.value),
      nonce: Number(tx.nonce),
      r: tx.r ?? null,
      s: tx.s ?? null,
      v: decimal(tx.v),
      type: tx.type ?? "0x0",
      gas: decimal(tx.gas),
      gas_price: decimal(tx.gasPrice),
      max_fee_per_gas: decimal(tx.maxFeePerGas),
      max_priority_fee_per_gas: decimal(tx.maxPriorityFeePerGas),
      access_list: tx.accessList ? JSON.stringify(tx.accessList) : null,
    })),
  };
}

function expectCacheEqual(actual: Cache, expected: Cache) {
  expect(expected.logs.length, "the chain has handled logs to cache").toBeGreaterThan(50);
  for (const table of Object.keys(CACHE_QUERIES) as (keyof Cache)[]) {
    expect(actual[table].length, `ponder_sync.${table}: rows`).toBe(expected[table].length);
    expect(actual[table], `ponder_sync.${table}: every column of every row`).toEqual(expected[table]);
  }
}

const postgresUnavailable = postgresUnavailableReason();

describe("Ponder's RPC cache written in bulk (the ponder_sync patch)", () => {
  let chain: SimulatedChain | undefined;
  let postgres: PostgresCluster | undefined;
  afterAll(async () => {
    await postgres?.stop();
    await chain?.stop();
  });

  const backfilledChain = async () => {
    chain ??= await simulatedChain(11, 40);
    const { contracts } = chain.deployment;
    const addresses = [contracts.StakeManager, contracts.InvoiceRegistry, contracts.SettlementEngine];
    return { chain, expected: await expectedCache(chain.anvil.rpcUrl, 31337, addresses, chain.head) };
  };

  it("PGlite: after the backfill every cached log, block and transaction equals the RPC's", async () => {
    const { chain, expected } = await backfilledChain();
    const dataDir = path.join(chain.workDir, "pglite-bulk");
    const ponder = await startPonder({
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: dataDir,
    });
    try {
      await ponder.waitForBlock(chain.head);
    } finally {
      await ponder.stop();
    }
    // One process owns a PGlite directory: read it once Ponder has stopped.
    const pglite = new PGlite({ dataDir });
    try {
      const actual = await readCache(async (sql) => Object.values((await pglite.query(sql)).rows[0] as object)[0]);
      expectCacheEqual(actual, expected);
    } finally {
      await pglite.close();
    }
  });

  it.skipIf(postgresUnavailable)(
    "PostgreSQL: after the backfill every cached log, block and transaction equals the RPC's",
    async () => {
      const { chain, expected } = await backfilledChain();
      postgres ??= await startPostgres();
      const ponder = await startPonder({ DEPLOYMENT_FILE: chain.deploymentFile, DATABASE_URL: postgres.url });
      try {
        await ponder.waitForBlock(chain.head);
        const url = postgres.url;
        expectCacheEqual(await readCache(async (sql) => psql(url, sql)), expected);
      } finally {
        await ponder.stop();
      }
    },
  );

  it.skipIf(postgresUnavailable)(
    "PostgreSQL, real time: blocks indexed live are cached exactly as the RPC answered",
    async () => {
      const slashChain = await startSlashChain();
      const database = await startPostgres();
      const ponder = await startPonder({ DEPLOYMENT_FILE: slashChain.deploymentFile, DATABASE_URL: database.url });
      try {
        const { rpcUrl, accounts, addresses } = slashChain.protocol;
        await ponder.waitForBlock(Number(BigInt(await rpc<Hex>(rpcUrl, "eth_blockNumber"))));
        // Each slash mines a block of its own, seen by Ponder's real-time sync (not the backfill).
        let last = 0n;
        for (let i = 0; i < 60; i++) {
          last = (await slashChain.slash(i % 2 ? accounts.provider : accounts.provider2)).blockNumber;
        }
        // Real time writes the cache as blocks become final (30 blocks deep on chain 31337).
        await ponder.waitForBlock(await mineToFinality(rpcUrl));
        const tracked = [addresses.StakeManager, addresses.InvoiceRegistry, addresses.SettlementEngine];
        const expected = await expectedCache(rpcUrl, 31337, tracked, Number(last));
        const read = () => readCache(async (sql) => psql(database.url, sql));
        await waitFor(
          async () => (await read()).logs.length >= expected.logs.length || undefined,
          120_000,
          "the live blocks to be finalized into ponder_sync",
          { intervalMs: 500 },
        );
        expectCacheEqual(await read(), expected);
      } finally {
        await ponder.stop();
        await database.stop();
        await slashChain.stop();
      }
    },
  );
});
