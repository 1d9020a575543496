/**
 * A slash-watching bot, small enough to copy: it follows GET /streams/slashes with fetch and a
 * twenty-line SSE parser (no dependency), keeps its cursor in a file so that a restart resumes
 * exactly where it stopped, and prints one alert line per slash (and one per retraction, when a
 * reorg removes a slash it reported). Its second mode receives the same events as signed webhooks
 * and refuses any body whose signature does not verify.
 *
 *   npx tsx examples/slash-bot.ts follow --url http://127.0.0.1:42069 --cursor-file .slash-bot.cursor \
 *     [--staker 0x...] [--reason 1] [--min-amount 1000] [--confirmations 2] [--from-beginning]
 *   npx tsx examples/slash-bot.ts webhook --port 8787 --secret whsec_...   (or WEBHOOK_SECRET=...)
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { pathToFileURL } from "node:url";
import { readEnv } from "../config/env.js";

/** One Server-Sent Events message. */
export type SseMessage = { event: string; data: string; id?: string; retry?: number };

/**
 * Incremental SSE parser (the WHATWG rules we need): lines end in \n, \r\n or \r; `:` starts a
 * comment; `data` lines join with \n; a blank line dispatches; `id` sticks for the messages after it.
 */
export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];
  private id: string | undefined;
  private retry: number | undefined;
  /** The last `id:` seen: what to send back as Last-Event-ID. */
  lastEventId: string | undefined;

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const messages: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (!match || (match[0] === "\r" && match.index === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      if (line === "") {
        if (this.data.length > 0) {
          messages.push({ event: this.event || "message", data: this.data.join("\n"), id: this.id, retry: this.retry });
        }
        this.event = "";
        this.data = [];
        this.retry = undefined;
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") this.event = value;
      else if (field === "data") this.data.push(value);
      else if (field === "id" && !value.includes("\0")) this.lastEventId = this.id = value;
      else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
    }
    return messages;
  }
}

/** A slash as the stream and the webhooks send it (bigints as decimal strings). */
export type SlashEvent = {
  id: string;
  cursor: string;
  chainId: number;
  blockNumber: string;
  logIndex: number;
  timestamp: string;
  txHash: string;
  staker: string;
  invoiceId: string | null;
  reason: number;
  amount: string;
  remainingStake: string;
  evidence: string;
};

/** The bot's one line per slash (or per retraction of one); `time-unknown` when the event has no valid timestamp. */
export function alertLine(kind: "slash" | "retracted", slash: SlashEvent): string {
  const seconds = /^\d+$/.test(String(slash.timestamp)) ? Number(slash.timestamp) : Number.NaN;
  const when = Number.isSafeInteger(seconds) ? new Date(seconds * 1000).toISOString() : "time-unknown";
  const label = kind === "slash" ? "SLASH" : "RETRACTED";
  return `${label} ${when} staker=${slash.staker} amount=${slash.amount} reason=${slash.reason} invoice=${slash.invoiceId ?? "-"} block=${slash.blockNumber} tx=${slash.txHash} id=${slash.id}`;
}

/** Reads the saved cursor, if any. */
export function readCursor(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const cursor = readFileSync(file, "utf8").trim();
  return cursor === "" ? undefined : cursor;
}

/** Saves the cursor atomically (write, then rename), so that a crash never leaves half a cursor. */
export function writeCursor(file: string, cursor: string) {
  writeFileSync(`${file}.tmp`, `${cursor}\n`);
  renameSync(`${file}.tmp`, file);
}

export type FollowOptions = {
  /** The indexer's base URL, e.g. http://127.0.0.1:42069. */
  url: string;
  /** Where the cursor is kept between runs; without it the bot starts at "now" every time. */
  cursorFile?: string;
  /** Stream filters: staker, reason, minAmount, confirmations. */
  params?: Record<string, string>;
  /** With no saved cursor, replay the whole history instead of starting now. */
  fromBeginning?: boolean;
  onSlash: (slash: SlashEvent, cursor: string) => void | Promise<void>;
  onRetracted?: (slash: SlashEvent) => void | Promise<void>;
  onStatus?: (message: string) => void;
  signal?: AbortSignal;
};

/**
 * Follows /streams/slashes until `signal` aborts: reconnects after any error with Last-Event-ID set
 * to the saved cursor, and saves the cursor after each handled event (so an event is handled again
 * only if the bot dies between handling it and saving: handlers should be idempotent by `id`).
 */
export async function followSlashes(options: FollowOptions): Promise<void> {
  let cursor = options.cursorFile ? readCursor(options.cursorFile) : undefined;
  let retryMs = 1_000;
  while (!options.signal?.aborted) {
    const query = new URLSearchParams(options.params);
    if (cursor === undefined && options.fromBeginning) query.set("after", "0");
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (cursor !== undefined) headers["last-event-id"] = cursor;
    try {
      const response = await fetch(`${options.url}/streams/slashes?${query}`, { headers, signal: options.signal });
      if (response.status === 400) throw new Error(`refused: ${await response.text()}`);
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      options.onStatus?.(`connected${cursor ? ` after ${cursor}` : ""}`);
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        for (const message of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (message.retry !== undefined) retryMs = message.retry;
          if (message.event !== "slash" && message.event !== "retracted") continue;
          const slash = JSON.parse(message.data) as SlashEvent;
          if (message.event === "slash") await options.onSlash(slash, message.id ?? slash.cursor);
          else await options.onRetracted?.(slash);
          if (message.id) {
            cursor = message.id;
            if (options.cursorFile) writeCursor(options.cursorFile, cursor);
          }
        }
      }
      options.onStatus?.("stream ended; reconnecting");
    } catch (error) {
      if (options.signal?.aborted) return;
      if ((error as Error).message.startsWith("refused:")) throw error;
      options.onStatus?.(`stream error (${(error as Error).message}); reconnecting in ${retryMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

/**
 * Checks `X-OpenLedger-Signature: t=<unix>,v1=<hex>` against the raw body: HMAC-SHA256 of
 * "<t>.<body>" under the subscription's secret, compared in constant time, and `t` within
 * `toleranceSeconds` of now (a replayed old delivery fails). Verify the bytes as received, before
 * parsing: re-serialized JSON would not match.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  toleranceSeconds = 300,
  now = Math.floor(Date.now() / 1000),
): boolean {
  if (!header) return false;
  const parts = new Map<string, string[]>();
  for (const part of header.split(",")) {
    const [key, value] = part.trim().split("=", 2);
    if (key && value) parts.set(key, [...(parts.get(key) ?? []), value]);
  }
  const t = parts.get("t")?.[0];
  if (!t || !/^\d+$/.test(t) || Math.abs(now - Number(t)) > toleranceSeconds) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${body}`).digest();
  return (parts.get("v1") ?? []).some((signature) => {
    if (!/^[0-9a-f]{64}$/.test(signature)) return false;
    return timingSafeEqual(Buffer.from(signature, "hex"), expected);
  });
}

export type WebhookDelivery = {
  event: "slash" | "activity" | "retracted";
  id: string;
  cursor: string;
  data: SlashEvent;
};

/**
 * The delivery in a verified body, or a reason why the body is not one. A body that is not a
 * delivery (not JSON, no event, id or data) can never be handled, so the receiver answers 400.
 */
export function parseDelivery(body: string): WebhookDelivery | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { problem: `not a delivery: the body is not JSON (${(error as Error).message})` };
  }
  const delivery = value as Partial<WebhookDelivery> | null;
  if (typeof delivery !== "object" || delivery === null) return { problem: "not a delivery: not a JSON object" };
  if (typeof delivery.event !== "string" || typeof delivery.id !== "string") {
    return { problem: 'not a delivery: "event" and "id" must be strings' };
  }
  if (typeof delivery.data !== "object" || delivery.data === null) {
    return { problem: 'not a delivery: "data" must be an object' };
  }
  return delivery as WebhookDelivery;
}

async function rawBody(request: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error("body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Receives webhooks on 127.0.0.1:`port` (0: any free port): 401 for a body whose signature does not
 * verify, 400 for a signed body that is not a delivery, 200 otherwise (500 only when `onDelivery`
 * throws, for a retry); each event id is handled once (redeliveries are acknowledged and skipped).
 * A delivery whose event lacks a field the bot only displays (its timestamp) is still handled: the
 * signature says the indexer sent it, and a slash alert without its time beats no alert.
 */
export async function startWebhookReceiver(options: {
  port: number;
  secret: string;
  onDelivery: (delivery: WebhookDelivery) => void | Promise<void>;
  onRejected?: (reason: string) => void;
}): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const seen = new Set<string>();
  const server = createServer(async (request, response) => {
    try {
      if (request.method !== "POST") {
        response.writeHead(405).end();
        return;
      }
      const body = await rawBody(request);
      const signature = request.headers["x-openledger-signature"];
      if (!verifyWebhookSignature(options.secret, Array.isArray(signature) ? signature[0] : signature, body)) {
        options.onRejected?.("bad signature");
        response.writeHead(401, { "content-type": "text/plain" }).end("bad signature");
        return;
      }
      const delivery = parseDelivery(body);
      if ("problem" in delivery) {
        options.onRejected?.(delivery.problem);
        response.writeHead(400, { "content-type": "text/plain" }).end(delivery.problem);
        return;
      }
      const eventId = String(request.headers["x-openledger-event-id"] ?? "");
      if (!seen.has(eventId)) {
        await options.onDelivery(delivery);
        seen.add(eventId);
      }
      response.writeHead(200, { "content-type": "text/plain" }).end("ok");
    } catch (error) {
      response.writeHead(500, { "content-type": "text/plain" }).end((error as Error).message);
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function argument(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? undefined : args[index + 1];
}

async function main(args: string[]) {
  const mode = args[0];
  if (mode === "follow") {
    const params: Record<string, string> = {};
    for (const [flag, param] of [
      ["staker", "staker"],
      ["reason", "reason"],
      ["min-amount", "minAmount"],
      ["confirmations", "confirmations"],
    ]) {
      const value = argument(args, flag);
      if (value !== undefined) params[param] = value;
    }
    const controller = new AbortController();
    process.once("SIGINT", () => controller.abort());
    process.once("SIGTERM", () => controller.abort());
    await followSlashes({
      url: argument(args, "url") ?? "http://127.0.0.1:42069",
      cursorFile: argument(args, "cursor-file") ?? ".slash-bot.cursor",
      fromBeginning: args.includes("--from-beginning"),
      params,
      signal: controller.signal,
      onSlash: (slash) => console.log(alertLine("slash", slash)),
      onRetracted: (slash) => console.log(alertLine("retracted", slash)),
      onStatus: (message) => console.error(`slash-bot: ${message}`),
    });
    return;
  }
  if (mode === "webhook") {
    const secret = argument(args, "secret") ?? readEnv("WEBHOOK_SECRET");
    if (!secret) throw new Error("--secret or WEBHOOK_SECRET is required");
    const receiver = await startWebhookReceiver({
      port: Number(argument(args, "port") ?? 8787),
      secret,
      onDelivery: (delivery) => {
        if (delivery.event === "slash" || delivery.event === "retracted") {
          console.log(alertLine(delivery.event === "slash" ? "slash" : "retracted", delivery.data));
        }
      },
      onRejected: (reason) => console.error(`slash-bot: rejected a delivery (${reason})`),
    });
    console.error(`slash-bot: receiving webhooks on ${receiver.url}`);
    return;
  }
  console.error("usage: slash-bot.ts follow --url URL [--cursor-file F] | webhook --port P --secret S");
  process.exit(2);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(`slash-bot: ${(error as Error).message}`);
    process.exit(1);
  });
}
