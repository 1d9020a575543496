/**
 * Every SQL statement of the webhooks, over their own schema ("openledger_webhooks" by default):
 * subscriptions (with the cursor their intake reached) and deliveries (each with its exact body,
 * status, attempts and next attempt time). Rows come back normalised (numbers as numbers, filters
 * as JSON, camelCase), whichever database (PGlite or PostgreSQL) answered.
 */
import { filterToJson, type StreamKind } from "../streams/filters.js";
import type { SubscriptionSpec } from "./config.js";
import { DELIVERY_LOCK_KEY, type SqlClient } from "./database.js";

/** Where deliveries stand. */
export type DeliveryStatus = "pending" | "delivered" | "failed";

/** A subscription as stored. */
export type Subscription = {
  id: string;
  url: string;
  secret: string;
  stream: StreamKind;
  filters: Record<string, unknown>;
  confirmations: number;
  maxAttempts: number | null;
  enabled: boolean;
  origin: "file" | "api";
  /** Where it started: "now", "" (the beginning) or a cursor. */
  start: string;
  /** Rows at or before it are never delivered (set by the first intake). */
  floor: string | null;
  /** The last row queued. */
  cursor: string | null;
  createdAt: number;
  /** Changes when the subscription does: the dispatcher re-attaches its intake. */
  updatedAt: number;
};

/** A delivery as stored. */
export type Delivery = {
  id: number;
  subscriptionId: string;
  kind: "event" | "retracted";
  eventId: string;
  cursor: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
};

/** A due delivery with what sending it needs of its subscription. */
export type DueDelivery = Delivery & { url: string; secret: string; maxAttempts: number | null };

/** Deliveries by status. */
export type DeliveryCounts = Record<DeliveryStatus, number>;

/** A frame to queue: what the dispatcher derived from a stream row. */
export type QueuedFrame = { kind: "event" | "retracted"; eventId: string; cursor: string; body: string };

type SubscriptionRow = {
  id: string;
  url: string;
  secret: string;
  stream: string;
  filters: Record<string, unknown> | string;
  confirmations: number;
  max_attempts: number | null;
  enabled: boolean;
  origin: "file" | "api";
  start: string;
  floor: string | null;
  cursor: string | null;
  created_at: string | number;
  updated_at: string | number;
};

type DeliveryRow = {
  id: string | number;
  subscription_id: string;
  kind: "event" | "retracted";
  event_id: string;
  cursor: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | number;
  last_status: number | null;
  last_error: string | null;
  created_at: string | number;
  delivered_at: string | number | null;
};

const subscriptionOf = (row: SubscriptionRow): Subscription => ({
  id: row.id,
  url: row.url,
  secret: row.secret,
  stream: row.stream as StreamKind,
  // PostgreSQL's driver parses jsonb; PGlite's may hand back the text.
  filters: typeof row.filters === "string" ? JSON.parse(row.filters) : row.filters,
  confirmations: Number(row.confirmations),
  maxAttempts: row.max_attempts === null ? null : Number(row.max_attempts),
  enabled: row.enabled,
  origin: row.origin,
  start: row.start,
  floor: row.floor,
  cursor: row.cursor,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

const deliveryOf = (row: DeliveryRow): Delivery => ({
  id: Number(row.id),
  subscriptionId: row.subscription_id,
  kind: row.kind,
  eventId: row.event_id,
  cursor: row.cursor,
  body: row.body,
  status: row.status,
  attempts: Number(row.attempts),
  nextAttemptAt: Number(row.next_attempt_at),
  lastStatus: row.last_status === null ? null : Number(row.last_status),
  lastError: row.last_error,
  createdAt: Number(row.created_at),
  deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at),
});

/** Column values of a subscription spec. */
function specColumns(spec: SubscriptionSpec) {
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

/** The values of url, secret, stream, filters, confirmations, max_attempts and enabled, in that order. */
const editableValues = (columns: ReturnType<typeof specColumns>) => [
  columns.url,
  columns.secret,
  columns.stream,
  columns.filters,
  columns.confirmations,
  columns.max_attempts,
  columns.enabled,
];

const noDeliveries = (): DeliveryCounts => ({ pending: 0, delivered: 0, failed: 0 });

/** The webhook tables of one schema, on one database. */
export class WebhookRepository {
  private readonly s: string;

  constructor(
    /** The database, also for the delivery lock (`acquireLeadership`) and `close`. */
    readonly sql: SqlClient,
    readonly schema: string,
  ) {
    this.s = `"${schema}"`;
  }

  /** Creates the schema and tables when missing (replicas racing are serialized by a transaction lock). */
  async migrate() {
    await this.sql.transaction(async (tx) => {
      if (this.sql.dialect === "postgres") await tx.query("SELECT pg_advisory_xact_lock($1)", [DELIVERY_LOCK_KEY + 1]);
      await tx.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await tx.query(`CREATE TABLE IF NOT EXISTS ${this.s}.subscription (
        id text PRIMARY KEY,
        url text NOT NULL,
        secret text NOT NULL,
        stream text NOT NULL,
        filters jsonb NOT NULL,
        confirmations integer NOT NULL,
        max_attempts integer,
        enabled boolean NOT NULL DEFAULT true,
        origin text NOT NULL,
        start text NOT NULL,
        floor text,
        cursor text,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      )`);
      await tx.query(`CREATE TABLE IF NOT EXISTS ${this.s}.delivery (
        id bigserial PRIMARY KEY,
        subscription_id text NOT NULL REFERENCES ${this.s}.subscription (id) ON DELETE CASCADE,
        kind text NOT NULL,
        event_id text NOT NULL,
        cursor text NOT NULL,
        body text NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at bigint NOT NULL,
        last_status integer,
        last_error text,
        created_at bigint NOT NULL,
        delivered_at bigint
      )`);
      await tx.query(`CREATE INDEX IF NOT EXISTS delivery_due ON ${this.s}.delivery (status, next_attempt_at)`);
      await tx.query(`CREATE INDEX IF NOT EXISTS delivery_subscription ON ${this.s}.delivery (subscription_id, id)`);
    });
  }

  /**
   * Inserts or updates WEBHOOKS_FILE's subscriptions (cursors kept); file subscriptions no longer
   * listed are disabled. Returns the ids left alone because the admin API created them.
   */
  async syncFileSubscriptions(specs: SubscriptionSpec[]): Promise<string[]> {
    const now = Date.now();
    const skipped: string[] = [];
    await this.sql.transaction(async (tx) => {
      // Replicas starting together apply the same file one after the other.
      if (this.sql.dialect === "postgres") await tx.query("SELECT pg_advisory_xact_lock($1)", [DELIVERY_LOCK_KEY + 1]);
      for (const spec of specs) {
        const columns = specColumns(spec);
        const [row] = await tx.query<SubscriptionRow>(`SELECT * FROM ${this.s}.subscription WHERE id = $1`, [spec.id]);
        const existing = row && subscriptionOf(row);
        if (existing && existing.origin !== "file") {
          skipped.push(spec.id);
          continue;
        }
        if (!existing) {
          await tx.query(...this.insertion(spec, "file", now));
          continue;
        }
        const same =
          existing.url === columns.url &&
          existing.secret === columns.secret &&
          existing.stream === columns.stream &&
          JSON.stringify(existing.filters) === columns.filters &&
          existing.confirmations === columns.confirmations &&
          existing.maxAttempts === columns.max_attempts &&
          existing.enabled === columns.enabled;
        if (same) continue;
        // A changed stream kind starts over: a cursor of one table means nothing in the other.
        const restart = existing.stream !== columns.stream;
        await tx.query(
          `UPDATE ${this.s}.subscription SET url = $2, secret = $3, stream = $4, filters = $5::jsonb, confirmations = $6,
             max_attempts = $7, enabled = $8, updated_at = $9${restart ? ", start = $10, floor = NULL, cursor = NULL" : ""} WHERE id = $1`,
          [spec.id, ...editableValues(columns), now, ...(restart ? [columns.start] : [])],
        );
      }
      const ids = specs.map((spec) => spec.id);
      await tx.query(
        `UPDATE ${this.s}.subscription SET enabled = false, updated_at = $2 WHERE origin = 'file' AND enabled AND NOT (id = ANY($1::text[]))`,
        [ids, now],
      );
    });
    return skipped;
  }

  /** The INSERT of a new subscription. */
  private insertion(spec: SubscriptionSpec, origin: Subscription["origin"], now: number): [string, unknown[]] {
    const columns = specColumns(spec);
    return [
      `INSERT INTO ${this.s}.subscription (id, url, secret, stream, filters, confirmations, max_attempts, enabled, origin, start, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $11)`,
      [spec.id, ...editableValues(columns), origin, columns.start, now],
    ];
  }

  /** A subscription created through the admin API, or undefined when the id is taken. */
  async createSubscription(spec: SubscriptionSpec): Promise<Subscription | undefined> {
    const [text, params] = this.insertion(spec, "api", Date.now());
    const [row] = await this.sql.query<SubscriptionRow>(`${text} ON CONFLICT (id) DO NOTHING RETURNING *`, params);
    return row && subscriptionOf(row);
  }

  /** Every subscription, oldest first; only the enabled ones with `enabledOnly`. */
  async subscriptions(enabledOnly = false): Promise<Subscription[]> {
    const rows = await this.sql.query<SubscriptionRow>(
      `SELECT * FROM ${this.s}.subscription${enabledOnly ? " WHERE enabled" : ""} ORDER BY created_at, id`,
    );
    return rows.map(subscriptionOf);
  }

  async subscription(id: string): Promise<Subscription | undefined> {
    const [row] = await this.sql.query<SubscriptionRow>(`SELECT * FROM ${this.s}.subscription WHERE id = $1`, [id]);
    return row && subscriptionOf(row);
  }

  /** Deletes a subscription and its deliveries; false when there was none. */
  async deleteSubscription(id: string): Promise<boolean> {
    const deleted = await this.sql.query(`DELETE FROM ${this.s}.subscription WHERE id = $1 RETURNING id`, [id]);
    return deleted.length > 0;
  }

  /** Sets where a new subscription's intake starts, unless another intake did already. */
  async setStart(id: string, floor: string, cursor: string) {
    await this.sql.query(`UPDATE ${this.s}.subscription SET floor = $2, cursor = $3 WHERE id = $1 AND cursor IS NULL`, [
      id,
      floor,
      cursor,
    ]);
  }

  /** Deliveries by status, of every subscription. */
  async deliveryCounts(): Promise<DeliveryCounts> {
    const rows = await this.sql.query<{ status: DeliveryStatus; n: number | string }>(
      `SELECT status, count(*) AS n FROM ${this.s}.delivery GROUP BY status`,
    );
    const counts = noDeliveries();
    for (const row of rows) counts[row.status] = Number(row.n);
    return counts;
  }

  /** Deliveries by status, per subscription (of one, given its id); absent subscriptions have none. */
  async deliveryCountsBySubscription(id?: string): Promise<(subscriptionId: string) => DeliveryCounts> {
    const rows = await this.sql.query<{ subscription_id: string; status: DeliveryStatus; n: number | string }>(
      `SELECT subscription_id, status, count(*) AS n FROM ${this.s}.delivery ${id ? "WHERE subscription_id = $1" : ""} GROUP BY 1, 2`,
      id ? [id] : [],
    );
    const result = new Map<string, DeliveryCounts>();
    for (const row of rows) {
      const entry = result.get(row.subscription_id) ?? noDeliveries();
      entry[row.status] = Number(row.n);
      result.set(row.subscription_id, entry);
    }
    return (subscriptionId) => result.get(subscriptionId) ?? noDeliveries();
  }

  /** A subscription's deliveries, newest first, `before` a delivery id. */
  async deliveries(
    subscriptionId: string,
    options: { status?: DeliveryStatus; limit: number; before?: number },
  ): Promise<Delivery[]> {
    const params: unknown[] = [subscriptionId, options.limit];
    let where = "subscription_id = $1";
    if (options.status) where += ` AND status = $${params.push(options.status)}`;
    if (options.before !== undefined) where += ` AND id < $${params.push(options.before)}`;
    const rows = await this.sql.query<DeliveryRow>(
      `SELECT * FROM ${this.s}.delivery WHERE ${where} ORDER BY id DESC LIMIT $2`,
      params,
    );
    return rows.map(deliveryOf);
  }

  /** Puts failed deliveries (all, or those listed) back to pending, due now; returns how many. */
  async redrive(subscriptionId: string, ids?: number[]): Promise<number> {
    const params: unknown[] = [subscriptionId, Date.now()];
    const only = ids ? ` AND id = ANY($${params.push(ids.map(String))}::bigint[])` : "";
    const redriven = await this.sql.query(
      `UPDATE ${this.s}.delivery SET status = 'pending', attempts = 0, next_attempt_at = $2
       WHERE subscription_id = $1 AND status = 'failed'${only} RETURNING id`,
      params,
    );
    return redriven.length;
  }

  /** The frames queued for a subscription after a cursor, in order (to know what its intake sent). */
  async queuedAfter(subscriptionId: string, after: string): Promise<{ cursor: string; kind: string }[]> {
    return this.sql.query<{ cursor: string; kind: string }>(
      `SELECT cursor, kind FROM ${this.s}.delivery WHERE subscription_id = $1 AND cursor > $2 ORDER BY id`,
      [subscriptionId, after],
    );
  }

  /** Queues frames as pending deliveries and moves the subscription's cursor, atomically. */
  async queue(subscriptionId: string, frames: QueuedFrame[], cursor: string) {
    const now = Date.now();
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const frame of frames) {
      const n = values.length;
      values.push(subscriptionId, frame.kind, frame.eventId, frame.cursor, frame.body, now);
      tuples.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, 'pending', 0, $${n + 6}, $${n + 6})`);
    }
    await this.sql.transaction(async (tx) => {
      const updated = await tx.query(`UPDATE ${this.s}.subscription SET cursor = $2 WHERE id = $1 RETURNING id`, [
        subscriptionId,
        cursor,
      ]);
      if (updated.length === 0) return; // deleted meanwhile
      await tx.query(
        `INSERT INTO ${this.s}.delivery (subscription_id, kind, event_id, cursor, body, status, attempts, next_attempt_at, created_at) VALUES ${tuples.join(", ")}`,
        values,
      );
    });
  }

  /** Deletes delivered deliveries delivered before `before` (failed and pending ones are kept). */
  async pruneDelivered(before: number) {
    await this.sql.query(`DELETE FROM ${this.s}.delivery WHERE status = 'delivered' AND delivered_at < $1`, [before]);
  }

  /** Pending deliveries of enabled subscriptions due by `now`, soonest first. */
  async due(now: number, limit: number): Promise<DueDelivery[]> {
    const rows = await this.sql.query<DeliveryRow & { url: string; secret: string; max_attempts: number | null }>(
      `SELECT d.*, s.url, s.secret, s.max_attempts FROM ${this.s}.delivery d
       JOIN ${this.s}.subscription s ON s.id = d.subscription_id
       WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND s.enabled
       ORDER BY d.next_attempt_at, d.id LIMIT $2`,
      [now, limit],
    );
    return rows.map((row) => ({
      ...deliveryOf(row),
      url: row.url,
      secret: row.secret,
      maxAttempts: row.max_attempts === null ? null : Number(row.max_attempts),
    }));
  }

  /**
   * Claims a pending delivery for an attempt (false if another attempt moved it on) and moves its
   * next attempt to `retryAt`, so that a crash mid-attempt leaves it to be retried, not lost.
   */
  async claim(delivery: Pick<Delivery, "id" | "attempts">, retryAt: number): Promise<boolean> {
    const claimed = await this.sql.query(
      `UPDATE ${this.s}.delivery SET next_attempt_at = $3 WHERE id = $1 AND status = 'pending' AND attempts = $2 RETURNING id`,
      [delivery.id, delivery.attempts, retryAt],
    );
    return claimed.length > 0;
  }

  async markDelivered(id: number, attempts: number, status: number, at: number) {
    await this.sql.query(
      `UPDATE ${this.s}.delivery SET status = 'delivered', attempts = $2, last_status = $3, last_error = NULL, delivered_at = $4 WHERE id = $1`,
      [id, attempts, status, at],
    );
  }

  /** Records a failed attempt: pending again at `retryAt`, or parked as failed when it is undefined. */
  async markFailed(id: number, attempts: number, status: number | null, error: string, retryAt: number | undefined) {
    await this.sql.query(
      `UPDATE ${this.s}.delivery SET status = $2, attempts = $3, last_status = $4, last_error = $5, next_attempt_at = $6 WHERE id = $1`,
      [id, retryAt === undefined ? "failed" : "pending", attempts, status, error.slice(0, 500), retryAt ?? Date.now()],
    );
  }
}
