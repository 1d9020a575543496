import { SimulatorInputError, SimulatorMismatchError } from "./errors.js";
import type { EventEncoder, ExpectedLog } from "./events.js";
import type { Hex } from "./ledger.js";
import type { Effect } from "./mirror.js";
import { JsonRpc, RpcCallError, toQuantity } from "./rpc.js";

/** A transaction the traffic planned, with what the mirror expects of it. */
export type PlannedTx = {
  from: Hex;
  to: Hex;
  data: Hex;
  gas: number;
  /** Names the transaction in error messages. */
  label: string;
  effect: Effect;
};

export type SentTx = PlannedTx & { hash: Hex };

type RpcLog = {
  address: string;
  topics: string[];
  data: string;
  transactionHash: string;
  logIndex: string;
};

type RpcBlock = { number: string; timestamp: string; transactions: string[] };

/** A fast-mode block as mined, waiting to be checked. */
export type MinedRound = { sent: SentTx[]; block: RpcBlock; logs: RpcLog[] };

/** Gas price of every transaction: above anvil's base fee, which only falls on our nearly empty blocks. */
const GAS_PRICE = 2_000_000_000n;

const describe = (log: ExpectedLog | RpcLog | undefined, events: EventEncoder) =>
  log
    ? `${events.nameOf(log.address, log.topics[0]) ?? log.topics[0]} ${log.topics.slice(1).join(",")} ${log.data}`
    : "none";

/**
 * Sends planned transactions with explicit nonces, gas and gas price from impersonated accounts
 * (no keys, no estimateGas), and checks what was mined against the mirror: every transaction must
 * be in the block in send order, and emit exactly the expected logs of the indexed contracts.
 * Then it runs each transaction's ledger writes with its block, timestamp and log indexes.
 */
export class ChainSession {
  readonly rpc: JsonRpc;
  readonly eventCounts = new Map<string, number>();
  private readonly nonces = new Map<Hex, number>();
  private readonly indexed: Set<string>;
  /** Fast mode: the last block this session mined. */
  private minedBlock = 0;
  transactions = 0;
  events = 0;
  lastBlock = 0;
  lastTimestamp = 0;

  constructor(
    rpcUrl: string,
    private readonly encoder: EventEncoder,
  ) {
    this.rpc = new JsonRpc(rpcUrl);
    const { stakeManager, registry, engine } = encoder.addresses;
    this.indexed = new Set([stakeManager, registry, engine]);
  }

  /** Lets every participant send without a key, with ETH for gas. */
  async enable(accounts: readonly Hex[]) {
    await this.rpc.call("anvil_autoImpersonateAccount", [true]);
    const ether = toQuantity(10n ** 24n);
    await this.rpc.batch(accounts.map((account) => ["anvil_setBalance", [account, ether]]));
    const counts = await this.rpc.batch<string>(
      accounts.map((account) => ["eth_getTransactionCount", [account, "latest"]]),
    );
    accounts.forEach((account, index) => {
      this.nonces.set(account, Number(counts[index]));
    });
  }

  /** Blocks up to `block` are not the run's: matching starts after it. */
  startAfter(block: { number: number; timestamp: number }) {
    this.lastBlock = block.number;
    this.lastTimestamp = block.timestamp;
    this.minedBlock = block.number;
  }

  async latestBlock(): Promise<{ number: number; timestamp: number }> {
    const block = await this.rpc.call<RpcBlock>("eth_getBlockByNumber", ["latest", false]);
    return { number: Number(block.number), timestamp: Number(block.timestamp) };
  }

  /** Sends in order (pipelined on one connection: see JsonRpc.ordered). */
  async send(planned: readonly PlannedTx[]): Promise<SentTx[]> {
    const requests: [string, unknown[]][] = planned.map((tx) => {
      const nonce = this.nonces.get(tx.from);
      if (nonce === undefined) throw new SimulatorMismatchError(`no nonce for ${tx.from} (${tx.label})`);
      this.nonces.set(tx.from, nonce + 1);
      return [
        "eth_sendTransaction",
        [
          {
            from: tx.from,
            to: tx.to,
            data: tx.data,
            gas: toQuantity(tx.gas),
            gasPrice: toQuantity(GAS_PRICE),
            nonce: toQuantity(nonce),
          },
        ],
      ];
    });
    const answers = await this.rpc.ordered(requests);
    return planned.map((tx, index) => {
      const answer = answers[index];
      if (answer.error) throw new SimulatorMismatchError(`${tx.label}: the node refused it: ${answer.error.message}`);
      return { ...tx, hash: answer.result as Hex };
    });
  }

  /**
   * Matches mined blocks (in order) against sent transactions (in send order), from `cursor` on.
   * Returns how many sent transactions it matched; foreign transactions are allowed only if they
   * leave the indexed contracts alone.
   */
  private match(blocks: RpcBlock[], logs: RpcLog[], sent: SentTx[], cursor: number): number {
    const logsByTx = new Map<string, RpcLog[]>();
    for (const log of logs) {
      let list = logsByTx.get(log.transactionHash);
      if (!list) {
        list = [];
        logsByTx.set(log.transactionHash, list);
      }
      list.push(log);
    }
    let next = cursor;
    for (const block of blocks) {
      const blockNumber = Number(block.number);
      const timestamp = Number(block.timestamp);
      for (const hash of block.transactions) {
        const txLogs = logsByTx.get(hash) ?? [];
        const tx = sent[next];
        if (!tx || tx.hash !== hash) {
          const later = sent.findIndex((candidate, index) => index > next && candidate.hash === hash);
          if (later >= 0) {
            throw new SimulatorMismatchError(
              `${sent[later].label} (tx ${hash}) was mined before ${tx?.label ?? "an earlier transaction"}: the node reordered them`,
            );
          }
          if (txLogs.some((log) => this.indexed.has(log.address.toLowerCase()))) {
            throw new SimulatorMismatchError(
              `transaction ${hash} in block ${blockNumber} is not the simulator's and touches the contracts: ` +
                "simulate on a chain nobody else writes to",
            );
          }
          continue;
        }
        next++;
        this.check(tx, txLogs, blockNumber, timestamp);
      }
      this.lastBlock = blockNumber;
      this.lastTimestamp = timestamp;
    }
    return next - cursor;
  }

  private check(tx: SentTx, txLogs: RpcLog[], blockNumber: number, timestamp: number) {
    if (txLogs.length === 0) {
      throw new SimulatorMismatchError(`${tx.label} (tx ${tx.hash}, block ${blockNumber}) reverted or emitted nothing`);
    }
    const actual = txLogs.filter((log) => this.indexed.has(log.address.toLowerCase()));
    const expected = tx.effect.logs.map((log) => (typeof log === "function" ? log(timestamp) : log));
    const logIndexes: number[] = [];
    for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
      const got = actual[i];
      const want = expected[i];
      const same =
        got !== undefined &&
        want !== undefined &&
        got.address.toLowerCase() === want.address &&
        got.data === want.data &&
        got.topics.length === want.topics.length &&
        got.topics.every((topic, t) => topic === want.topics[t]);
      if (!same) {
        throw new SimulatorMismatchError(
          `${tx.label} (tx ${tx.hash}, block ${blockNumber}): log ${i} differs from the mirror's\n` +
            `  expected ${describe(want, this.encoder)}\n  actual   ${describe(got, this.encoder)}`,
        );
      }
      logIndexes.push(Number(got.logIndex));
      const name = this.encoder.nameOf(got.address, got.topics[0]) as string;
      this.eventCounts.set(name, (this.eventCounts.get(name) ?? 0) + 1);
    }
    this.transactions++;
    this.events += actual.length;
    const context = { blockNumber, timestamp, txHash: tx.hash, logIndexes };
    for (const write of tx.effect.onMined) write(context);
  }

  private async blocksAndLogs(from: number, to: number): Promise<{ blocks: RpcBlock[]; logs: RpcLog[] }> {
    const calls: [string, unknown[]][] = [["eth_getLogs", [{ fromBlock: toQuantity(from), toBlock: toQuantity(to) }]]];
    for (let n = from; n <= to; n++) calls.push(["eth_getBlockByNumber", [toQuantity(n), false]]);
    const [logs, ...blocks] = await this.rpc.batch<unknown>(calls);
    return { logs: logs as RpcLog[], blocks: blocks as RpcBlock[] };
  }

  /** Fast mode: mines the pool into one block at `timestamp`; resolves with the block's number. */
  async mine(timestamp: number): Promise<number> {
    await this.rpc.call("evm_mine", [{ timestamp, blocks: 1 }]);
    return ++this.minedBlock;
  }

  /**
   * A mined block and its logs, by number (the next block may be mining meanwhile). Only the
   * indexed contracts' logs unless a transaction expects none of them (token mints and approvals),
   * whose success then shows in its token logs.
   */
  async fetchMined(sent: SentTx[], blockNumber: number): Promise<MinedRound> {
    const onlyIndexed = sent.every((tx) => tx.effect.logs.length > 0);
    const { stakeManager, registry, engine } = this.encoder.addresses;
    const range = { fromBlock: toQuantity(blockNumber), toBlock: toQuantity(blockNumber) };
    const filter = onlyIndexed ? { ...range, address: [stakeManager, registry, engine] } : range;
    const [block, logs] = await this.rpc.batch<unknown>([
      ["eth_getBlockByNumber", [toQuantity(blockNumber), false]],
      ["eth_getLogs", [filter]],
    ]);
    return { sent, block: block as RpcBlock, logs: logs as RpcLog[] };
  }

  /** Fast mode: every sent transaction must be in the block, in order, with the expected logs. */
  verifyMined({ sent, block, logs }: MinedRound) {
    if (!block) throw new SimulatorMismatchError("a block the simulator mined is missing");
    const matched = this.match([block], logs, sent, 0);
    if (matched !== sent.length) {
      const missing = sent[matched];
      throw new SimulatorMismatchError(`${missing.label} (tx ${missing.hash}) was not mined in its block`);
    }
  }

  /** Fast mode, one round without overlap: send, mine, check. */
  async mineRound(planned: readonly PlannedTx[], timestamp: number): Promise<void> {
    const sent = await this.send(planned);
    this.verifyMined(await this.fetchMined(sent, await this.mine(timestamp)));
  }

  /**
   * Real-time mode: sends the round to a node that mines by itself (automine or --block-time) and
   * waits until every transaction is mined, checking blocks as they come.
   */
  async sendAndWait(planned: readonly PlannedTx[], timeoutMs = 60_000): Promise<void> {
    const sent = await this.send(planned);
    let matched = 0;
    let scanned = this.lastBlock;
    const deadline = Date.now() + timeoutMs;
    while (matched < sent.length) {
      const latest = Number(await this.rpc.call<string>("eth_blockNumber"));
      if (latest > scanned) {
        const { blocks, logs } = await this.blocksAndLogs(scanned + 1, latest);
        matched += this.match(blocks, logs, sent, matched);
        scanned = latest;
        continue;
      }
      if (Date.now() > deadline) {
        throw new SimulatorInputError(
          `transactions are not being mined at ${this.rpc.url}: start anvil with automine or --block-time, or use --fast`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Fast mode takes over block production; returns a function that gives it back as it was. */
  async takeOverMining(): Promise<() => Promise<void>> {
    const automine = await this.rpc.call<boolean>("anvil_getAutomine");
    let interval: number | null = null;
    try {
      interval = await this.rpc.call<number | null>("anvil_getIntervalMining");
    } catch (error) {
      if (!(error instanceof RpcCallError)) throw error;
    }
    await this.rpc.call("evm_setAutomine", [false]);
    if (interval) await this.rpc.call("evm_setIntervalMining", [0]);
    return async () => {
      if (interval) await this.rpc.call("evm_setIntervalMining", [interval]);
      if (automine) await this.rpc.call("evm_setAutomine", [true]);
    };
  }
}
