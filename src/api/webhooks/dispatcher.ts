/**
 * Webhook deliveries, outside Ponder's indexing functions (which are replayed on reorgs and
 * restarts). Two halves, both in the one process that holds the delivery lock:
 *
 * - intake: each enabled subscription is a StreamConsumer of the shared table pollers; its frames
 *   (events and retractions) are written as `delivery` rows in the same transaction that moves the
 *   subscription's cursor, so a crash never loses nor doubles one; on restart the consumer resumes
 *   from the stored cursor, knowing exactly which unfinalized rows it already queued;
 * - sender: due deliveries are POSTed, signed; a 2xx marks them delivered, anything else schedules a
 *   retry with exponential backoff and full jitter, until the attempts run out and the delivery is
 *   parked as `failed` (the admin API lists and re-drives those).
 * Delivery is at least once: a crash between a receiver's 2xx and our write repeats the POST, with
 * the same X-OpenLedger-Event-Id for the receiver to deduplicate.
 */
import { type Frame, type FrameSink, followSource, StreamConsumer, type StreamSource } from "../streams/core.js";
import { eventPayload, filterFromJson, type StreamKind } from "../streams/filters.js";
import { type BackoffPolicy, DEFAULT_BACKOFF, nextRetryDelay } from "./backoff.js";
import type { DueDelivery, Subscription, WebhookRepository } from "./repository.js";
import { signatureHeader } from "./signature.js";

export type DispatcherOptions = {
  backoff: BackoffPolicy;
  /** Deliveries in flight at once, in all and per subscription. */
  maxInFlight: number;
  maxInFlightPerSubscription: number;
  /** A receiver that has not answered within this is a failed attempt. */
  timeoutMs: number;
  /** How often due deliveries are looked for (new ones wake the sender at once). */
  tickMs: number;
  /** How often the leader re-reads subscriptions (changes made by another replica's admin API). */
  syncMs: number;
  /** Delivered deliveries older than this are deleted (failed and pending ones are kept). */
  retentionMs: number;
  log: (message: string) => void;
};

export const DEFAULT_DISPATCHER_OPTIONS: Omit<DispatcherOptions, "log"> = {
  backoff: DEFAULT_BACKOFF,
  maxInFlight: 16,
  maxInFlightPerSubscription: 4,
  timeoutMs: 10_000,
  tickMs: 250,
  syncMs: 2_000,
  retentionMs: 7 * 24 * 3600 * 1000,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The JSON body of a delivery: what happened, its ids, and the event as the streams send it. */
export function deliveryBody(kind: StreamKind, subscriptionId: string, frame: Frame): string {
  const data = eventPayload(kind, frame.row);
  const event = frame.kind === "retracted" ? "retracted" : kind === "slashes" ? "slash" : "activity";
  return JSON.stringify({ event, id: data.id, cursor: frame.row.id, subscription: subscriptionId, data });
}

/** The idempotency key of a frame: the event id, suffixed for a retraction (a message of its own). */
export function deliveryEventId(kind: StreamKind, frame: Frame): string {
  const id = eventPayload(kind, frame.row).id as string;
  return frame.kind === "retracted" ? `${id}:retracted` : id;
}

/** Queues a subscription's frames and writes them, with its cursor, in one transaction per batch. */
class DeliverySink implements FrameSink {
  open = true;
  private pending: Frame[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    readonly subscription: { id: string; kind: StreamKind },
  ) {}

  write(frames: Frame[]) {
    if (!this.open) return;
    this.pending.push(...frames);
    this.flushing ??= this.flush().finally(() => {
      this.flushing = undefined;
    });
  }

  async demand() {
    while (this.open && this.pending.length >= 1_000) await (this.flushing ?? sleep(50));
  }

  async drained() {
    await this.flushing;
  }

  private async flush() {
    while (this.open && this.pending.length > 0) {
      const batch = this.pending.slice(0, 200);
      try {
        await this.dispatcher.persist(this.subscription, batch);
        this.pending.splice(0, batch.length);
        this.dispatcher.wake();
      } catch (error) {
        if (!this.open) return;
        this.dispatcher.options.log(
          `webhooks: queueing for ${this.subscription.id} failed, retrying: ${(error as Error).message}`,
        );
        await sleep(1_000);
      }
    }
  }
}

type Intake = { sink: DeliverySink; detach: () => void; updatedAt: number };

/** How much of a refusing receiver's answer `lastError` keeps: enough to say why, never a whole page. */
export const ERROR_BODY_CHARS = 200;

/**
 * The start of a response body, at most `chars` characters on one line: reads no more than it
 * needs of a large or endless body, then lets the rest go.
 */
async function bodyStart(response: Response, chars: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < chars * 4) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // what arrived before the error is all there is
  } finally {
    reader.cancel().catch(() => {});
  }
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > chars ? `${line.slice(0, chars)}…` : line;
}

/** The dispatcher of one process; only the lock holder runs intake and sender. */
export class WebhookDispatcher {
  leader = false;
  /** Attempts this process made since it started, by outcome (for /metrics). */
  readonly attempts = { delivered: 0, failed: 0 };
  private stopped = false;
  private intakes = new Map<string, Intake>();
  private inFlight = new Map<string, string>();
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private lastSync = 0;
  private enabledCount = 0;
  private lastPrune = 0;
  private lastLeaderTry = 0;
  private readonly aborter = new AbortController();

  constructor(
    readonly repository: WebhookRepository,
    private readonly sources: (kind: StreamKind) => StreamSource,
    readonly options: DispatcherOptions,
  ) {}

  start() {
    this.loop ??= this.run();
  }

  /** Runs the sender soon (new deliveries, a redrive). */
  wake() {
    this.wakeUp?.();
  }

  /** Stops intake and sending; in-flight POSTs are aborted and stay pending (retried after a restart). */
  async stop() {
    this.stopped = true;
    this.aborter.abort();
    this.wake();
    for (const id of [...this.intakes.keys()]) this.detach(id);
    await Promise.race([this.loop, sleep(2_000)]);
    await this.repository.sql.close();
  }

  private async run() {
    while (!this.stopped) {
      try {
        const now = Date.now();
        if (!this.leader && now - this.lastLeaderTry > 5_000) {
          this.lastLeaderTry = now;
          this.leader = await this.repository.sql.acquireLeadership(() => {
            this.leader = false;
            this.options.log("webhooks: lost the delivery lock; another process may deliver now");
            for (const id of [...this.intakes.keys()]) this.detach(id);
          });
          if (this.leader) this.lastSync = 0;
        }
        if (this.leader && !this.stopped) {
          if (now - this.lastSync >= this.options.syncMs) {
            this.lastSync = now;
            await this.syncIntakes();
          }
          if (now - this.lastPrune >= 3_600_000) {
            this.lastPrune = now;
            await this.repository.pruneDelivered(now - this.options.retentionMs);
          }
          await this.sendDue();
        }
      } catch (error) {
        if (!this.stopped) this.options.log(`webhooks: ${(error as Error).message}`);
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.tickMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  /** Asks the leader to re-read subscriptions now (after an admin change in this process). */
  resync() {
    this.lastSync = 0;
    this.wake();
  }

  /** Attaches intake to every enabled subscription, re-attaches changed ones, detaches the rest. */
  private async syncIntakes() {
    const rows = await this.repository.subscriptions(true);
    this.enabledCount = rows.length;
    const wanted = new Map(rows.map((row) => [row.id, row]));
    for (const [id, intake] of this.intakes) {
      const row = wanted.get(id);
      if (!row || row.updatedAt !== intake.updatedAt) this.detach(id);
    }
    for (const row of rows) if (!this.intakes.has(row.id)) this.attach(row);
  }

  private detach(id: string) {
    const intake = this.intakes.get(id);
    if (!intake) return;
    this.intakes.delete(id);
    intake.sink.open = false;
    intake.detach();
  }

  private attach(row: Subscription) {
    const kind = row.stream;
    const sink = new DeliverySink(this, { id: row.id, kind });
    const intake: Intake = { sink, detach: () => {}, updatedAt: row.updatedAt };
    this.intakes.set(row.id, intake);
    const source = this.sources(kind);
    const filter = filterFromJson(kind, row.filters);
    (async () => {
      await source.ready();
      if (!sink.open || !source.current) return;
      let floor = row.floor;
      let cursor = row.cursor;
      if (cursor === null || floor === null) {
        // First start: "now" is the table's tail at this moment; "0" the beginning; else the cursor given.
        floor = cursor = row.start === "now" ? source.tail : row.start;
        await this.repository.setStart(row.id, floor, cursor);
      }
      // Which unfinalized rows were queued already (the last frame of a row says if it still stands).
      const queued = await this.repository.queuedAfter(row.id, source.current.finalized);
      const last = new Map(queued.map((frame) => [frame.cursor, frame.kind]));
      const delivered = new Set([...last].filter(([, frameKind]) => frameKind === "event").map(([id]) => id));
      const resumeAt = cursor;
      const restFloor = floor;
      const detach = await followSource(
        source,
        () => new StreamConsumer(filter, row.confirmations, resumeAt, restFloor),
        sink,
        { delivered },
      );
      if (sink.open) intake.detach = detach;
      else detach();
    })().catch((error) => {
      this.options.log(`webhooks: intake of ${row.id} failed: ${(error as Error).message}`);
      if (this.intakes.get(row.id) === intake) this.detach(row.id);
      this.lastSync = 0;
    });
  }

  /** Writes frames as pending deliveries and moves the subscription's cursor, atomically. */
  async persist(subscription: { id: string; kind: StreamKind }, frames: Frame[]) {
    await this.repository.queue(
      subscription.id,
      frames.map((frame) => ({
        kind: frame.kind,
        eventId: deliveryEventId(subscription.kind, frame),
        cursor: frame.row.id,
        body: deliveryBody(subscription.kind, subscription.id, frame),
      })),
      frames[frames.length - 1].cursor,
    );
  }

  private async sendDue() {
    // No subscription, nothing to send: spare the database (on PGlite, Ponder's only connection).
    if (this.enabledCount === 0) return;
    const free = this.options.maxInFlight - this.inFlight.size;
    if (free <= 0) return;
    const due = await this.repository.due(Date.now(), free + this.inFlight.size);
    const perSubscription = new Map<string, number>();
    for (const subscriptionId of this.inFlight.values()) {
      perSubscription.set(subscriptionId, (perSubscription.get(subscriptionId) ?? 0) + 1);
    }
    for (const delivery of due) {
      const id = String(delivery.id);
      if (this.inFlight.has(id) || this.inFlight.size >= this.options.maxInFlight) continue;
      const count = perSubscription.get(delivery.subscriptionId) ?? 0;
      if (count >= this.options.maxInFlightPerSubscription) continue;
      perSubscription.set(delivery.subscriptionId, count + 1);
      this.inFlight.set(id, delivery.subscriptionId);
      this.attempt(delivery)
        .catch((error) => this.options.log(`webhooks: delivery ${id}: ${(error as Error).message}`))
        .finally(() => {
          this.inFlight.delete(id);
          this.wake();
        });
    }
  }

  private async attempt(delivery: DueDelivery) {
    // Claim the row as read: a `sendDue` whose SELECT ran while an earlier attempt of this delivery
    // was in flight can return the row still pending, after that attempt has finished and left
    // `inFlight`; sending it again would repeat the same attempt. The claim also moves the row's
    // next attempt past the timeout, so a crash mid-attempt leaves it to be retried, not lost.
    if (!(await this.repository.claim(delivery, Date.now() + this.options.timeoutMs + 1_000))) return;
    const attempts = delivery.attempts + 1;
    let status: number | undefined;
    let error: string | undefined;
    try {
      const response = await fetch(delivery.url, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(this.options.timeoutMs)]),
        headers: {
          "content-type": "application/json",
          "user-agent": "openledger-webhooks/1",
          "x-openledger-signature": signatureHeader(delivery.secret, delivery.body),
          "x-openledger-event-id": delivery.eventId,
          "x-openledger-event-type": delivery.kind === "retracted" ? "retracted" : "event",
          "x-openledger-delivery-id": String(delivery.id),
          "x-openledger-attempt": String(attempts),
        },
        body: delivery.body,
      });
      status = response.status;
      if (status < 200 || status >= 300) {
        // The receiver's own words say why ("token expired"): keep their start beside the status.
        const said = await bodyStart(response, ERROR_BODY_CHARS);
        error = said ? `HTTP ${status}: ${said}` : `HTTP ${status}`;
      } else {
        await response.body?.cancel().catch(() => {});
      }
    } catch (caught) {
      if (this.stopped) return; // aborted by shutdown: stays pending, as it was
      error =
        (caught as Error).name === "TimeoutError"
          ? `no answer within ${this.options.timeoutMs} ms`
          : (caught as Error).message;
    }
    const now = Date.now();
    this.attempts[error === undefined ? "delivered" : "failed"] += 1;
    if (error === undefined) {
      await this.repository.markDelivered(delivery.id, attempts, status ?? 0, now);
      return;
    }
    const policy = { ...this.options.backoff, maxAttempts: delivery.maxAttempts ?? this.options.backoff.maxAttempts };
    const delay = nextRetryDelay(policy, attempts);
    await this.repository.markFailed(
      delivery.id,
      attempts,
      status ?? null,
      error,
      delay === undefined ? undefined : now + delay,
    );
  }
}
