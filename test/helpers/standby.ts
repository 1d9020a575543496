/**
 * A PostgreSQL primary with hot standbys for one test file (docs/production.md, "Reads past one machine"): initdb for
 * the primary, `pg_basebackup -R` for each standby (streaming replication, `primary_conninfo` written
 * by -R), every server on 127.0.0.1, a port and a data directory of its own, as the `postgres` user
 * when we are root (test/helpers/postgres.ts). The harness can SIGKILL the primary and promote a
 * standby, as an operator's failover does.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Address, createPublicClient, http } from "viem";
import { StakeManagerAbi } from "../../abis/StakeManager.js";
import type { SseMessage } from "../../examples/slash-bot.js";
import { freePort } from "../../harness/ports.js";
import { connectPostgres, findPostgresBin, postgresCommandRunner } from "../../harness/postgres.js";
import { SseClient } from "./bots.js";

/** Runs one statement on a fresh connection and returns its rows. */
export async function sqlRows<T = Record<string, unknown>>(
  url: string,
  text: string,
  params?: unknown[],
): Promise<T[]> {
  const client = await connectPostgres(url);
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** One server of the cluster. */
export type PostgresNode = {
  /** `primary`, `standby1`, `standby2`...: also its `cluster_name`, hence its `application_name` on the primary. */
  name: string;
  url: string;
  port: number;
  dataDir: string;
  /** The postmaster's pid, from postmaster.pid. */
  pid: () => number;
  /** True while the node serves queries in recovery (a hot standby). */
  inRecovery: () => Promise<boolean>;
};

export type ReplicatedCluster = {
  primary: PostgresNode;
  standbys: PostgresNode[];
  /** SIGKILL to the primary's postmaster; resolves once its processes are gone and it refuses connections. */
  killPrimary: () => Promise<void>;
  /** `pg_ctl promote` on a standby, waiting until it accepts writes; it is the primary from then on. */
  promote: (standby: PostgresNode) => Promise<void>;
  /** Resolves once `standby` has replayed everything the current primary had written when called. */
  waitForReplay: (standby: PostgresNode, timeoutMs?: number) => Promise<void>;
  stop: () => Promise<void>;
};

export type ClusterOptions = {
  /** Number of standbys (1 or 2). */
  standbys: number;
  /** The primary's `synchronous_standby_names` (e.g. `ANY 1 (standby1)`); none: asynchronous replication. */
  synchronousStandbyNames?: string;
  /** Per standby (by name), a `recovery_min_apply_delay` (e.g. `3s`): a standby that lags by design. */
  applyDelay?: Record<string, string>;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a primary and `standbys` streaming standbys made with `pg_basebackup -R`. The tests' speed
 * settings (fsync and full_page_writes off) stay, since a SIGKILL of PostgreSQL is not an OS crash:
 * the page cache survives it. `synchronous_commit` stays `on` (PostgreSQL's default), so that a
 * `synchronousStandbyNames` makes every commit wait for the standby's flush.
 */
export async function startReplicatedCluster(options: ClusterOptions): Promise<ReplicatedCluster> {
  const found = findPostgresBin();
  if (!found) throw new Error("PostgreSQL binaries (initdb, pg_ctl, pg_basebackup) not found");
  // PATH may hold links to a few of the server's programs only: pg_basebackup sits beside the real initdb.
  const run = postgresCommandRunner(path.dirname(realpathSync(path.join(found, "initdb"))));
  const dir = mkdtempSync(path.join(tmpdir(), "openledger-standby-"));
  chmodSync(dir, 0o777);
  const running = new Set<string>();
  const common = ["-c fsync=off", "-c full_page_writes=off", "-c max_connections=200", "-c hot_standby_feedback=on"];

  const makeNode = (name: string, port: number): PostgresNode => {
    const dataDir = path.join(dir, name);
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    return {
      name,
      url,
      port,
      dataDir,
      pid: () => Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]),
      inRecovery: async () =>
        (await sqlRows<{ recovery: boolean }>(url, "SELECT pg_is_in_recovery() AS recovery"))[0].recovery,
    };
  };
  const startNode = (node: PostgresNode, flags: string[]) => {
    run("pg_ctl", [
      "-D",
      node.dataDir,
      "-l",
      path.join(dir, `${node.name}.log`),
      "-o",
      [`-h 127.0.0.1 -p ${node.port} -k ${dir}`, `-c cluster_name=${node.name}`, ...common, ...flags].join(" "),
      "-w",
      "start",
    ]);
    running.add(node.dataDir);
  };

  const primary = makeNode("primary", await freePort());
  const standbys: PostgresNode[] = [];
  try {
    run("initdb", ["-D", primary.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    const synchronous = options.synchronousStandbyNames
      ? [`-c "synchronous_standby_names=${options.synchronousStandbyNames}"`]
      : [];
    startNode(primary, synchronous);
    for (let i = 1; i <= options.standbys; i++) {
      const standby = makeNode(`standby${i}`, await freePort());
      // -R writes standby.signal and primary_conninfo; -X stream copies the WAL made meanwhile.
      run("pg_basebackup", [
        "-D",
        standby.dataDir,
        "-h",
        "127.0.0.1",
        "-p",
        String(primary.port),
        "-U",
        "postgres",
        "-R",
        "-X",
        "stream",
        "--no-sync",
      ]);
      const delay = options.applyDelay?.[standby.name];
      startNode(standby, delay ? [`-c recovery_min_apply_delay=${delay}`] : []);
      standbys.push(standby);
    }
  } catch (error) {
    for (const dataDir of running) run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  let current = primary;
  const killPrimary = async () => {
    const pid = current.pid();
    process.kill(pid, "SIGKILL");
    running.delete(current.dataDir);
    // The backends notice the postmaster's death and exit: wait until nothing answers on the port.
    for (let i = 0; i < 200; i++) {
      if (!alive(pid)) {
        try {
          await sqlRows(current.url, "SELECT 1");
        } catch {
          return;
        }
      }
      await sleep(50);
    }
    throw new Error(`${current.name} still answers after SIGKILL`);
  };

  const promote = async (standby: PostgresNode) => {
    run("pg_ctl", ["-D", standby.dataDir, "-w", "promote"]);
    for (let i = 0; i < 200 && (await standby.inRecovery()); i++) await sleep(50);
    if (await standby.inRecovery()) throw new Error(`${standby.name} is still in recovery after pg_ctl promote`);
    current = standby;
  };

  const waitForReplay = async (standby: PostgresNode, timeoutMs = 60_000) => {
    const [{ lsn }] = await sqlRows<{ lsn: string }>(current.url, "SELECT pg_current_wal_lsn()::text AS lsn");
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [{ replayed }] = await sqlRows<{ replayed: boolean }>(
        standby.url,
        "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS replayed",
        [lsn],
      );
      if (replayed) return;
      if (Date.now() > deadline) throw new Error(`${standby.name} did not replay up to ${lsn} within ${timeoutMs} ms`);
      await sleep(100);
    }
  };

  const stop = async () => {
    for (const dataDir of running) {
      try {
        run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already gone
      }
    }
    running.clear();
    // A killed postmaster's backends exit by themselves; give them a moment before removing their files.
    for (const node of [primary, ...standbys]) {
      if (!existsSync(path.join(node.dataDir, "postmaster.pid"))) continue;
      const pid = node.pid();
      for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  return { primary, standbys, killPrimary, promote, waitForReplay, stop };
}

/** The server log of a node (for failure messages). */
export function nodeLog(node: PostgresNode): string {
  const file = path.join(path.dirname(node.dataDir), `${node.name}.log`);
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

/**
 * The stable ids (`chainId:txHash:logIndex`) of every `Slashed` log on the chain, read from the
 * node itself: what a bot must have received, independently of the indexer.
 */
export async function chainSlashIds(rpcUrl: string, stakeManager: Address, chainId = 31337): Promise<string[]> {
  const client = createPublicClient({ transport: http(rpcUrl) });
  const logs = await client.getContractEvents({
    address: stakeManager,
    abi: StakeManagerAbi,
    eventName: "Slashed",
    fromBlock: 0n,
  });
  return logs.map((log) => `${chainId}:${log.transactionHash.toLowerCase()}:${log.logIndex}`);
}

/**
 * A bot that follows /streams/slashes from one API process to another, as a client behind a load
 * balancer does: each connection resumes with the Last-Event-ID of the last message received; a 503
 * (a standby behind that id, or a process going away) is retried after its Retry-After.
 */
export class FollowingBot {
  /** Stable ids of the slash events received, in order (duplicates kept, to be counted). */
  readonly received: string[] = [];
  readonly retracted: string[] = [];
  /** Answers that were not a stream (503 from a standby behind the cursor, or a refused connection). */
  readonly refusals: { url: string; status: number; detail: string }[] = [];
  connections = 0;
  lastEventId: string | undefined;
  private client: SseClient | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(private target: string) {}

  start() {
    this.loop ??= this.run();
    return this;
  }

  /** Moves to another process: the current connection is closed and the next one resumes there. */
  async moveTo(url: string) {
    this.target = url;
    await this.client?.close();
  }

  private take(messages: readonly SseMessage[]) {
    for (const message of messages) {
      const payload = JSON.parse(message.data) as { id: string };
      if (message.event === "slash") this.received.push(payload.id);
      else if (message.event === "retracted") this.retracted.push(payload.id);
      if (message.id) this.lastEventId = message.id;
    }
  }

  private async run() {
    while (!this.stopped) {
      const url = this.target;
      const resume = this.lastEventId;
      const client = new SseClient(
        resume === undefined ? `${url}/streams/slashes?after=0` : `${url}/streams/slashes`,
        resume === undefined ? {} : { "last-event-id": resume },
      );
      this.client = client;
      try {
        await client.open();
      } catch (error) {
        this.refusals.push({ url, status: 0, detail: (error as Error).message });
      }
      if (client.status === 200) {
        this.connections++;
        let seen = 0;
        while (!client.ended && !this.stopped && this.target === url) {
          const messages = client.messages.slice(seen);
          seen += messages.length;
          this.take(messages);
          await sleep(20);
        }
        await client.close();
        this.take(client.messages.slice(seen));
      } else if (client.status !== 0) {
        this.refusals.push({ url, status: client.status, detail: `after ${resume ?? "0"}` });
      }
      // The stream's own `retry: 1000`; a standby that is behind answers Retry-After: 1.
      if (!this.stopped && this.target === url) await sleep(client.status === 200 ? 200 : 1_000);
    }
  }

  /**
   * Waits (at most `timeoutMs`) until every expected id has arrived, stops, and says what differs
   * from exactly once: ids missing, not expected, received more than once, retracted.
   */
  async finish(expected: readonly string[], timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !expected.every((id) => this.received.includes(id))) await sleep(100);
    await this.stop();
    const seen = new Set<string>();
    const duplicates: string[] = [];
    for (const id of this.received) {
      if (seen.has(id)) duplicates.push(id);
      seen.add(id);
    }
    const wanted = new Set(expected);
    return {
      missing: expected.filter((id) => !seen.has(id)),
      unexpected: [...seen].filter((id) => !wanted.has(id)),
      duplicates,
      retracted: [...this.retracted],
    };
  }

  async stop() {
    this.stopped = true;
    await this.client?.close();
    await this.loop;
  }
}
