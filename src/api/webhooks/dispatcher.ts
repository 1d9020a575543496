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
import { eventPayload, filterFromJson, filterToJson, type StreamKind } from "../streams/filters.js";
import { type BackoffPolicy, DEFAULT_BACKOFF, nextRetryDelay } from "./backoff.js";
import type { SubscriptionSpec } from "./config.js";
import { signatureHeader } from "./signature.js";
import type { DeliveryRow, SqlClient, SubscriptionRow } from "./database.js";

export type DispatcherOptions = {
  schema: string;
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

export const DEFAULT_DISPATCHER_OPTIONS: Omit<DispatcherOptions, "schema" | "log"> = {
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

type Intake = { sink: DeliverySink; detach: () => void; updatedAt: string };
type Due = DeliveryRow & { url: string; secret: string; max_attempts: number | null };

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
    readonly sql: SqlClient,
    private readonly sources: (kind: StreamKind) => StreamSource,
    readonly options: DispatcherOptions,
  ) {}

  private get s() {
    return `"${this.options.schema}"`;
  }

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
    await this.sql.close();
  }

  private async run() {
    while (!this.stopped) {
      try {
        const now = Date.now();
        if (!this.leader && now - this.lastLeaderTry > 5_000) {
          this.lastLeaderTry = now;
          this.leader = await this.sql.acquireLeadership(() => {
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
            await this.sql.query(`DELETE FROM ${this.s}.delivery WHERE status = 'delivered' AND delivered_at < $1`, [
              now - this.options.retentionMs,
            ]);
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
    const rows = await this.sql.query<SubscriptionRow>(`SELECT * FROM ${this.s}.subscription WHERE enabled`);
    this.enabledCount = rows.length;
    const wanted = new Map(rows.map((row) => [row.id, row]));
    for (const [id, intake] of this.intakes) {
      const row = wanted.get(id);
      if (!row || String(row.updated_at) !== intake.updatedAt) this.detach(id);
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

  private attach(row: SubscriptionRow) {
    const kind = row.stream as StreamKind;
    const sink = new DeliverySink(this, { id: row.id, kind });
    const intake: Intake = { sink, detach: () => {}, updatedAt: String(row.updated_at) };
    this.intakes.set(row.id, intake);
    const source = this.sources(kind);
    const filters = typeof row.filters === "string" ? JSON.parse(row.filters) : row.filters;
    const filter = filterFromJson(kind, filters);
    (async () => {
      await source.ready();
      if (!sink.open || !source.current) return;
      let floor = row.floor;
      let cursor = row.cursor;
      if (cursor === null || floor === null) {
        // First start: "now" is the table's tail at this moment; "0" the beginning; else the cursor given.
        floor = cursor = row.start === "now" ? source.tail : row.start;
        await this.sql.query(
          `UPDATE ${this.s}.subscription SET floor = $2, cursor = $3 WHERE id = $1 AND cursor IS NULL`,
          [row.id, floor, cursor],
        );
      }
      // Which unfinalized rows were queued already (the last frame of a row says if it still stands).
      const queued = await this.sql.query<{ cursor: string; kind: string }>(
        `SELECT cursor, kind FROM ${this.s}.delivery WHERE subscription_id = $1 AND cursor > $2 ORDER BY id`,
        [row.id, source.current.finalized],
      );
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
    const now = Date.now();
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const frame of frames) {
      const n = values.length;
      values.push(
        subscription.id,
        frame.kind,
        deliveryEventId(subscription.kind, frame),
        frame.row.id,
        deliveryBody(subscription.kind, subscription.id, frame),
        now,
      );
      tuples.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, 'pending', 0, $${n + 6}, $${n + 6})`);
    }
    const cursor = frames[frames.length - 1].cursor;
    await this.sql.transaction(async (tx) => {
      const updated = await tx.query(`UPDATE ${this.s}.subscription SET cursor = $2 WHERE id = $1 RETURNING id`, [
        subscription.id,
        cursor,
      ]);
      if (updated.length === 0) return; // deleted meanwhile
      await tx.query(
        `INSERT INTO ${this.s}.delivery (subscription_id, kind, event_id, cursor, body, status, attempts, next_attempt_at, created_at) VALUES ${tuples.join(", ")}`,
        values,
      );
    });
  }

  private async sendDue() {
    // No subscription, nothing to send: spare the database (on PGlite, Ponder's only connection).
    if (this.enabledCount === 0) return;
    const free = this.options.maxInFlight - this.inFlight.size;
    if (free <= 0) return;
    const due = await this.sql.query<Due>(
      `SELECT d.*, s.url, s.secret, s.max_attempts FROM ${this.s}.delivery d
       JOIN ${this.s}.subscription s ON s.id = d.subscription_id
       WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND s.enabled
       ORDER BY d.next_attempt_at, d.id LIMIT $2`,
      [Date.now(), free + this.inFlight.size],
    );
    const perSubscription = new Map<string, number>();
    for (const subscriptionId of this.inFlight.values()) {
      perSubscription.set(subscriptionId, (perSubscription.get(subscriptionId) ?? 0) + 1);
    }
    for (const delivery of due) {
      const id = String(delivery.id);
      if (this.inFlight.has(id) || this.inFlight.size >= this.options.maxInFlight) continue;
      const count = perSubscription.get(delivery.subscription_id) ?? 0;
      if (count >= this.options.maxInFlightPerSubscription) continue;
      perSubscription.set(delivery.subscription_id, count + 1);
      this.inFlight.set(id, delivery.subscription_id);
      this.attempt(delivery)
        .catch((error) => this.options.log(`webhooks: delivery ${id}: ${(error as Error).message}`))
        .finally(() => {
          this.inFlight.delete(id);
          this.wake();
        });
    }
  }

  private async attempt(delivery: Due) {
    // Claim the row as read: a `sendDue` whose SELECT ran while an earlier attempt of this delivery
    // was in flight can return the row still pending, after that attempt has finished and left
    // `inFlight`; sending it again would repeat the same attempt. The claim also moves the row's
    // next attempt past the timeout, so a crash mid-attempt leaves it to be retried, not lost.
    const claimed = await this.sql.query(
      `UPDATE ${this.s}.delivery SET next_attempt_at = $3 WHERE id = $1 AND status = 'pending' AND attempts = $2 RETURNING id`,
      [delivery.id, delivery.attempts, Date.now() + this.options.timeoutMs + 1_000],
    );
    if (claimed.length === 0) return;
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
          "x-openledger-event-id": delivery.event_id,
          "x-openledger-event-type": delivery.kind === "retracted" ? "retracted" : "event",
          "x-openledger-delivery-id": String(delivery.id),
          "x-openledger-attempt": String(attempts),
        },
        body: delivery.body,
      });
      status = response.status;
      await response.body?.cancel().catch(() => {});
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
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
      await this.sql.query(
        `UPDATE ${this.s}.delivery SET status = 'delivered', attempts = $2, last_status = $3, last_error = NULL, delivered_at = $4 WHERE id = $1`,
        [delivery.id, attempts, status, now],
      );
      return;
    }
    const policy = { ...this.options.backoff, maxAttempts: delivery.max_attempts ?? this.options.backoff.maxAttempts };
    const delay = nextRetryDelay(policy, attempts);
    await this.sql.query(
      `UPDATE ${this.s}.delivery SET status = $2, attempts = $3, last_status = $4, last_error = $5, next_attempt_at = $6 WHERE id = $1`,
      [
        delivery.id,
        delay === undefined ? "failed" : "pending",
        attempts,
        status ?? null,
        error.slice(0, 500),
        now + (delay ?? 0),
      ],
    );
  }
}

/** The JSON of a subscription for the admin API (the secret is never shown back, except on creation). */
export function subscriptionJson(row: SubscriptionRow, counts?: Record<string, number>) {
  const filters = typeof row.filters === "string" ? JSON.parse(row.filters) : row.filters;
  return {
    id: row.id,
    url: row.url,
    stream: row.stream,
    filters,
    confirmations: row.confirmations,
    maxAttempts: row.max_attempts,
    enabled: row.enabled,
    origin: row.origin,
    start: row.start === "" ? "0" : row.start,
    cursor: row.cursor,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    deliveries: counts ?? undefined,
  };
}

/** Column values of a subscription spec. */
export function specColumns(spec: SubscriptionSpec) {
  return {
    url: spec.url,
    secret: spec.secret,
    stream: spec.kind,
    filters: JSON.stringify(filterToJson(spec.filter)),
    confirmations: spec.confirmations,
    max_attempts: spec.maxAttempts ?? null,
    enabled: spec.enabled,
    start: spec.start.kind === "now" ? "now" : spec.start.cursor,
  };
}
