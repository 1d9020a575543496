/**
 * `_meta`: where the indexer is on each chain. Ponder keeps its progress in its private table
 * `_ponder_checkpoint` (one row per chain with the latest indexed checkpoint); this file is the one
 * place the GraphQL API reads it. The block hash is not in the checkpoint: it is asked of the chain's
 * RPC (Ponder's own client, cached per block), and is null if the RPC cannot answer.
 */

import { anomaly } from "ponder:schema";
import { sql } from "drizzle-orm";
import { checkpointBlockNumber, checkpointTimestamp } from "../ponder-internals.js";
import type { Runner } from "./runner.js";

/** One chain's progress, as `_meta` answers it. */
export type ChainMeta = {
  chainId: number;
  chainName: string;
  block: { number: bigint; timestamp: bigint; hash: () => Promise<string | null> };
  hasIndexingErrors: boolean;
};

/** Reads a block's hash from a chain's RPC. */
export type BlockHashReader = (chainName: string, blockNumber: bigint) => Promise<string | null>;

/** A checkpoint's block, decoded by src/api/ponder-internals.ts (the one module that knows Ponder's layout). */
function decodeCheckpoint(checkpoint: string): { timestamp: bigint; blockNumber: bigint } {
  return { timestamp: BigInt(checkpointTimestamp(checkpoint)), blockNumber: checkpointBlockNumber(checkpoint) };
}

/** A reader of block hashes through `publicClients` of "ponder:api", remembering the last ones. */
export function rpcBlockHashes(
  clients: Record<string, { getBlock: (args: { blockNumber: bigint }) => Promise<{ hash: string | null }> }>,
): BlockHashReader {
  const cache = new Map<string, Promise<string | null>>();
  return (chainName, blockNumber) => {
    const key = `${chainName}:${blockNumber}`;
    let hash = cache.get(key);
    if (!hash) {
      const client = clients[chainName];
      hash = client
        ? client.getBlock({ blockNumber }).then(
            (block) => block.hash,
            () => null,
          )
        : Promise.resolve(null);
      cache.set(key, hash);
      if (cache.size > 256) cache.delete(cache.keys().next().value!);
      // A failed read is not remembered: the next _meta asks again.
      hash.then((value) => value === null && cache.delete(key));
    }
    return hash;
  };
}

/** Every chain's progress, in chain id order. `hasIndexingErrors` is true when the chain has anomaly rows. */
export async function readChainMeta(runner: Runner, blockHash: BlockHashReader): Promise<ChainMeta[]> {
  // Bounded work (one row per chain, an index probe each): no statement timeout needed.
  const rows = await runner.db
    .execute(
      sql`SELECT c.chain_id AS "chainId", c.chain_name AS "chainName", c.latest_checkpoint AS "latest",
          EXISTS (SELECT 1 FROM ${anomaly} a WHERE a.chain_id = c.chain_id) AS "anomalies"
          FROM _ponder_checkpoint c ORDER BY c.chain_id`,
    )
    .then((result) => (result as { rows: Record<string, unknown>[] }).rows);
  return rows.map((row) => {
    const { timestamp, blockNumber } = decodeCheckpoint(String(row.latest));
    const chainName = String(row.chainName);
    return {
      chainId: Number(row.chainId),
      chainName,
      block: { number: blockNumber, timestamp, hash: () => blockHash(chainName, blockNumber) },
      hasIndexingErrors: row.anomalies === true,
    };
  });
}
