/**
 * Fixtures for the bot-interface suites: a chain where the owner can slash staked providers, an
 * in-process SSE client that records what it receives, and a TCP relay that keeps one address
 * across indexer restarts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Address, type Hex, parseEther } from "viem";
import { type SseMessage, SseParser } from "../../examples/slash-bot.js";
import { waitFor } from "../../harness/wait.js";
import { type Protocol, startProtocol } from "./protocol.js";

export type SlashSent = { id: string; txHash: Hex; blockNumber: bigint; staker: Address };

export type SlashChain = {
  protocol: Protocol;
  deploymentFile: string;
  workDir: string;
  /** Slashes `staker` (owner-only) and returns the event's stable id `chainId:txHash:logIndex`. */
  slash: (staker: Address, amount?: bigint, reason?: number) => Promise<SlashSent>;
  stop: () => Promise<void>;
};

/** A fresh anvil with the protocol, two providers staked with plenty to slash, and a deployment file. */
export async function startSlashChain(): Promise<SlashChain> {
  const protocol = await startProtocol();
  const workDir = mkdtempSync(path.join(tmpdir(), "openledger-bots-"));
  try {
    await protocol.stake(protocol.accounts.provider, parseEther("100000"));
    await protocol.stake(protocol.accounts.provider2, parseEther("100000"));
    const deploymentFile = path.join(workDir, "deployment.json");
    writeFileSync(
      deploymentFile,
      JSON.stringify({ chainId: 31337, rpcUrl: protocol.rpcUrl, startBlock: 0, contracts: protocol.addresses }),
    );
    const slash = async (staker: Address, amount = parseEther("1"), reason = 1): Promise<SlashSent> => {
      const evidence = `0x${"e".repeat(64)}` as Hex;
      const sent = await protocol.send(protocol.accounts.owner, "StakeManager", "slash", [
        staker,
        0n,
        reason,
        amount,
        evidence,
      ]);
      const log = sent.receipt.logs.find(
        (entry) => entry.address.toLowerCase() === protocol.addresses.StakeManager.toLowerCase(),
      );
      if (!log) throw new Error("slash emitted no StakeManager log");
      return {
        id: `31337:${sent.receipt.transactionHash.toLowerCase()}:${log.logIndex}`,
        txHash: sent.receipt.transactionHash,
        blockNumber: sent.receipt.blockNumber,
        staker,
      };
    };
    return {
      protocol,
      deploymentFile,
      workDir,
      slash,
      stop: async () => {
        await protocol.stop();
        rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await protocol.stop();
    throw error;
  }
}

/** One SSE connection read in the background; every message and comment is kept. */
export class SseClient {
  readonly messages: SseMessage[] = [];
  comments = 0;
  /** The server said ": live": the replay is over and the client is attached to the live feed. */
  live = false;
  error: Error | undefined;
  ended = false;
  status = 0;
  private readonly controller = new AbortController();
  private reading: Promise<void> | undefined;

  constructor(
    readonly url: string,
    readonly headers: Record<string, string> = {},
  ) {}

  /** Connects and resolves once the response headers are in (status checked by the caller). */
  async open(): Promise<this> {
    const response = await fetch(this.url, {
      headers: { accept: "text/event-stream", ...this.headers },
      signal: this.controller.signal,
    });
    this.status = response.status;
    if (!response.ok || !response.body) {
      this.ended = true;
      return this;
    }
    const body = response.body as unknown as AsyncIterable<Uint8Array>;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    this.reading = (async () => {
      try {
        for await (const chunk of body) {
          const text = decoder.decode(chunk, { stream: true });
          const comments = text.split(/\n/).filter((line) => line.startsWith(":"));
          this.comments += comments.length;
          if (comments.includes(": live")) this.live = true;
          this.messages.push(...parser.push(text));
        }
      } catch (error) {
        if (!this.controller.signal.aborted) this.error = error as Error;
      } finally {
        this.ended = true;
      }
    })();
    return this;
  }

  /** Resolves once the server has said the client is live (caught up). */
  async waitLive(timeoutMs = 30_000): Promise<this> {
    await waitFor(() => this.live || this.ended, timeoutMs, `${this.url} to go live`);
    if (!this.live) throw new Error(`${this.url} ended before going live (status ${this.status})`);
    return this;
  }

  /** Payloads of the messages of one event type. */
  payloads(event: string): Record<string, unknown>[] {
    return this.messages.filter((message) => message.event === event).map((message) => JSON.parse(message.data));
  }

  ids(event = "slash"): string[] {
    return this.payloads(event).map((payload) => payload.id as string);
  }

  lastEventId(): string | undefined {
    return this.messages.at(-1)?.id;
  }

  async close() {
    this.controller.abort();
    await this.reading;
  }
}

/** A TCP relay on a fixed local port to whatever target is current: bots keep one URL across restarts. */
export async function startRelay(): Promise<{
  url: string;
  setTarget: (port: number) => void;
  close: () => Promise<void>;
}> {
  let target = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    if (target === 0) {
      client.destroy();
      return;
    }
    const upstream = connect(target, "127.0.0.1");
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    setTarget: (next) => {
      target = next;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
