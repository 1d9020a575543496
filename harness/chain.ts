/** The chain as the tests and the benchmark see it: its head, and Ponder's finality on anvil. */
import { rpc } from "../scripts/lib/anvil.js";

/** Ponder 0.16 treats the last 30 blocks of chain 31337 as unfinalized; mining past them makes a backfill whole. */
export const UNFINALIZED_BLOCKS = 32;

/** The chain's head. */
export async function blockNumber(rpcUrl: string): Promise<number> {
  return Number(BigInt(await rpc<string>(rpcUrl, "eth_blockNumber")));
}

/** Mines UNFINALIZED_BLOCKS empty blocks, so that every block before them is final to Ponder; returns the new head. */
export async function mineToFinality(rpcUrl: string): Promise<number> {
  await rpc(rpcUrl, "anvil_mine", [`0x${UNFINALIZED_BLOCKS.toString(16)}`]);
  return blockNumber(rpcUrl);
}
