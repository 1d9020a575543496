import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { freePort } from "../../harness/ports.js";
import { stopProcess } from "../../harness/process.js";
import { ROOT } from "./compile.js";

/** anvil as shipped by @foundry-rs/anvil; started directly so the PID we hold is anvil's. */
export const ANVIL_BIN = path.join(ROOT, "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");

export type AnvilOptions = {
  /** 0 or undefined: a free port chosen by the OS. */
  port?: number;
  chainId?: number;
  /** Seconds between blocks; undefined mines a block per transaction. */
  blockTime?: number;
  /** Genesis timestamp (unix seconds): fixes every timestamp of a deterministic chain. */
  genesisTimestamp?: number;
  loadState?: string;
  dumpState?: string;
  /** Dev accounts to generate (unlocked); anvil's default is 10. */
  accounts?: number;
  silent?: boolean;
  /** How long to wait for the first answer (default 30 s); reloading a big state takes longer. */
  readyTimeoutMs?: number;
  /**
   * Keep no (true) or N historical states (`--prune-history`): without it anvil keeps the state of
   * every block in memory, tens of GB for a few hundred blocks of a million-event simulation.
   * Blocks, transactions and logs are kept either way; only calls at old blocks are lost.
   */
  pruneHistory?: boolean | number;
};

export type Anvil = {
  rpcUrl: string;
  port: number;
  chainId: number;
  process: ChildProcess;
  /** Stops anvil (SIGTERM, then SIGKILL after the harness's grace period) and resolves once it has exited. */
  stop: () => Promise<void>;
};

/** Sends one JSON-RPC call; throws with the node's message on an error answer. */
export async function rpc<T = unknown>(rpcUrl: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

/**
 * Starts anvil on 127.0.0.1 with the settings our chains rely on: FIFO ordering inside a block
 * (the simulator sends dependent transactions into one block), no block gas limit, and a code size
 * limit off for unoptimised builds. Resolves once it answers `eth_chainId`.
 */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  if (!existsSync(ANVIL_BIN)) {
    throw new Error(`anvil not found at ${ANVIL_BIN}: run npm install (it ships with @foundry-rs/anvil)`);
  }
  const port = options.port || (await freePort());
  const chainId = options.chainId ?? 31337;
  const args = [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--chain-id",
    String(chainId),
    "--order",
    "fifo",
    "--disable-block-gas-limit",
    "--accounts",
    String(options.accounts ?? 10),
  ];
  if (options.blockTime !== undefined) args.push("--block-time", String(options.blockTime));
  if (options.genesisTimestamp !== undefined) args.push("--timestamp", String(options.genesisTimestamp));
  if (options.loadState) args.push("--load-state", options.loadState);
  if (options.dumpState) args.push("--dump-state", options.dumpState);
  if (options.pruneHistory === true) args.push("--prune-history");
  else if (typeof options.pruneHistory === "number") args.push("--prune-history", String(options.pruneHistory));
  if (options.silent ?? true) args.push("--silent");

  const child = spawn(ANVIL_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  child.stdout?.resume();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const stop = () => stopProcess(child);

  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}: ${stderr.trim()}`);
    try {
      await rpc(rpcUrl, "eth_chainId");
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`anvil did not answer on ${rpcUrl} within ${readyTimeoutMs / 1000} s: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { rpcUrl, port, chainId, process: child, stop };
}
