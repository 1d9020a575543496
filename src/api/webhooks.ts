/**
 * Signed webhooks for bots (README, "For bots"): subscriptions from WEBHOOKS_FILE and from the admin API
 * under /admin/webhooks (Authorization: Bearer $WEBHOOK_ADMIN_TOKEN; off without the variable),
 * delivered by the dispatcher that this module starts with the API. State lives in its own schema,
 * in Ponder's PGlite or, with DATABASE_URL, in PostgreSQL through a pool of its own.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type Context, Hono, type Next } from "hono";
import { onStandby } from "./standby.js";
import { finalityDepth } from "./stream-core.js";
import { streamSource } from "./streams.js";
import { DEFAULT_BACKOFF } from "./webhook-backoff.js";
import { parseSubscription, readWebhooksFile, type SubscriptionSpec, WebhookConfigError } from "./webhook-config.js";
import { DEFAULT_DISPATCHER_OPTIONS, specColumns, subscriptionJson, WebhookDispatcher } from "./webhook-dispatcher.js";
import {
  DELIVERY_LOCK_KEY,
  type DeliveryRow,
  migrate,
  type PgliteInstance,
  pgliteSqlClient,
  postgresSqlClient,
  type SqlClient,
  type SubscriptionRow,
  webhookSchema,
} from "./webhook-store.js";

type PonderGlobals = {
  PONDER_COMMON?: { apiShutdown: { add: (callback: () => unknown) => void } };
  PONDER_DATABASE?: { driver: { dialect: "pglite"; instance: PgliteInstance } | { dialect: "postgres" } };
  PONDER_PRE_BUILD?: { databaseConfig: { kind: string; poolConfig?: Record<string, unknown> } };
  PONDER_INDEXING_BUILD?: { chains: { id: number }[] };
};
const ponder = globalThis as unknown as PonderGlobals;

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value >= min ? value : fallback;
}

const maxConfirmations = () => finalityDepth(ponder.PONDER_INDEXING_BUILD?.chains[0]?.id ?? 31337);

/** The database the webhook state lives in: Ponder's PGlite instance, or PostgreSQL via a pool of ours. */
function sqlClient(): SqlClient | undefined {
  const driver = ponder.PONDER_DATABASE?.driver;
  if (driver?.dialect === "pglite") return pgliteSqlClient(driver.instance);
  if (driver?.dialect === "postgres") {
    // A replica on a hot standby keeps webhook state on the primary (src/api/standby.ts).
    const primary = process.env.PRIMARY_DATABASE_URL;
    if (primary) return postgresSqlClient({ connectionString: primary });
    const poolConfig = ponder.PONDER_PRE_BUILD?.databaseConfig.poolConfig;
    const connectionString = process.env.DATABASE_URL;
    const { max: _max, ...connection } = poolConfig ?? {};
    return postgresSqlClient(Object.keys(connection).length > 0 ? connection : { connectionString });
  }
  return undefined;
}

type Webhooks = {
  sql: SqlClient;
  schema: string;
  dispatcher: WebhookDispatcher;
  ready: Promise<void>;
  /** Why the admin API is off in this process (a hot standby without PRIMARY_DATABASE_URL). */
  refusal?: string;
};

/** Inserts or updates the file's subscriptions (cursors kept); file subscriptions no longer listed are disabled. */
async function syncFileSubscriptions(sql: SqlClient, schema: string, specs: SubscriptionSpec[]) {
  const now = Date.now();
  await sql.transaction(async (tx) => {
    // Replicas starting together apply the same file one after the other.
    if (sql.dialect === "postgres") await tx.query("SELECT pg_advisory_xact_lock($1)", [DELIVERY_LOCK_KEY + 1]);
    for (const spec of specs) {
      const columns = specColumns(spec);
      const [existing] = await tx.query<SubscriptionRow>(`SELECT * FROM "${schema}".subscription WHERE id = $1`, [
        spec.id,
      ]);
      if (existing && existing.origin !== "file") {
        console.warn(`WEBHOOKS_FILE: subscription "${spec.id}" was created through the admin API; left as it is`);
        continue;
      }
      if (!existing) {
        await tx.query(
          `INSERT INTO "${schema}".subscription (id, url, secret, stream, filters, confirmations, max_attempts, enabled, origin, start, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, 'file', $9, $10, $10)`,
          [
            spec.id,
            columns.url,
            columns.secret,
            columns.stream,
            columns.filters,
            columns.confirmations,
            columns.max_attempts,
            columns.enabled,
            columns.start,
            now,
          ],
        );
        continue;
      }
      const same =
        existing.url === columns.url &&
        existing.secret === columns.secret &&
        existing.stream === columns.stream &&
        JSON.stringify(typeof existing.filters === "string" ? JSON.parse(existing.filters) : existing.filters) ===
          columns.filters &&
        existing.confirmations === columns.confirmations &&
        existing.max_attempts === columns.max_attempts &&
        existing.enabled === columns.enabled;
      if (same) continue;
      // A changed stream kind starts over: a cursor of one table means nothing in the other.
      const restart = existing.stream !== columns.stream;
      await tx.query(
        `UPDATE "${schema}".subscription SET url = $2, secret = $3, stream = $4, filters = $5::jsonb, confirmations = $6,
           max_attempts = $7, enabled = $8, updated_at = $9${restart ? ", start = $10, floor = NULL, cursor = NULL" : ""} WHERE id = $1`,
        [
          spec.id,
          columns.url,
          columns.secret,
          columns.stream,
          columns.filters,
          columns.confirmations,
          columns.max_attempts,
          columns.enabled,
          now,
          ...(restart ? [columns.start] : []),
        ],
      );
    }
    const ids = specs.map((spec) => spec.id);
    await tx.query(
      `UPDATE "${schema}".subscription SET enabled = false, updated_at = $2 WHERE origin = 'file' AND enabled AND NOT (id = ANY($1::text[]))`,
      [ids, now],
    );
  });
}

let webhooks: Webhooks | undefined;

/** The webhook machinery of this process, if started (for /metrics; does not start it). */
export function webhooksIfStarted(): Webhooks | undefined {
  return webhooks;
}

/**
 * Starts the webhook machinery once per process: tables, file subscriptions, dispatcher. Errors in
 * WEBHOOKS_FILE are reported and leave the dispatcher running for the subscriptions already stored.
 */
export function startWebhooks(): Webhooks | undefined {
  if (webhooks) return webhooks;
  const sql = sqlClient();
  if (!sql) return undefined;
  const schema = webhookSchema();
  const dispatcher = new WebhookDispatcher(sql, streamSource, {
    ...DEFAULT_DISPATCHER_OPTIONS,
    schema,
    backoff: {
      baseMs: intEnv("WEBHOOK_RETRY_BASE_MS", DEFAULT_BACKOFF.baseMs, 1),
      capMs: intEnv("WEBHOOK_RETRY_CAP_MS", DEFAULT_BACKOFF.capMs, 1),
      maxAttempts: intEnv("WEBHOOK_MAX_ATTEMPTS", DEFAULT_BACKOFF.maxAttempts, 1),
    },
    timeoutMs: intEnv("WEBHOOK_TIMEOUT_MS", DEFAULT_DISPATCHER_OPTIONS.timeoutMs, 100),
    retentionMs: intEnv("WEBHOOK_RETENTION_DAYS", 7, 1) * 24 * 3600 * 1000,
    log: (message) => console.warn(message),
  });
  let stopped = false;
  const current: Webhooks = { sql, schema, dispatcher, ready: Promise.resolve() };
  current.ready = (async () => {
    // A hot standby refuses writes: the state lives on the primary, and only processes there deliver.
    const standby = await onStandby();
    if (standby && !process.env.PRIMARY_DATABASE_URL) {
      current.refusal =
        "This replica reads a PostgreSQL hot standby, which refuses writes: set PRIMARY_DATABASE_URL for the webhook admin API";
      console.warn(`Webhooks: ${current.refusal}; deliveries run on the processes connected to the primary`);
      return;
    }
    // The database may not answer yet (a PostgreSQL restarting): retry until it does.
    for (let attempt = 1; !stopped; attempt++) {
      try {
        await migrate(sql, schema);
        break;
      } catch (error) {
        if (attempt === 1 || attempt % 12 === 0) {
          console.error(`Webhooks: cannot create their tables yet (${(error as Error).message}); retrying`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5_000));
      }
    }
    const file = process.env.WEBHOOKS_FILE;
    if (file && !stopped) {
      try {
        await syncFileSubscriptions(sql, schema, readWebhooksFile(file, maxConfirmations()));
      } catch (error) {
        // A bad file leaves the stored subscriptions running; the message names the field.
        console.error(
          `Webhooks: ${error instanceof WebhookConfigError ? "" : "WEBHOOKS_FILE not applied: "}${(error as Error).message}`,
        );
      }
    }
    if (standby) console.log("Webhooks: admin API through PRIMARY_DATABASE_URL; no deliveries from a hot standby");
    else if (!stopped) dispatcher.start();
  })();
  webhooks = current;
  ponder.PONDER_COMMON?.apiShutdown.add(() => {
    stopped = true;
    return dispatcher.stop();
  });
  return webhooks;
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Bearer-token guard: 403 when the admin API is off (no WEBHOOK_ADMIN_TOKEN), 401 on a missing or wrong token. */
async function adminOnly(c: Context, next: Next) {
  const token = process.env.WEBHOOK_ADMIN_TOKEN;
  if (!token) {
    return c.json({ error: "The webhook admin API is off: set WEBHOOK_ADMIN_TOKEN to turn it on" }, 403);
  }
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match || !timingSafeEqual(digest(match[1].trim()), digest(token))) {
    c.header("WWW-Authenticate", 'Bearer realm="openledger-webhooks"');
    return c.json(
      { error: match ? "Wrong admin token" : "Missing header: Authorization: Bearer <WEBHOOK_ADMIN_TOKEN>" },
      401,
    );
  }
  await next();
}

async function state(c: Context): Promise<Webhooks | Response> {
  const current = startWebhooks();
  if (!current) return c.json({ error: "Webhooks need Ponder's database, which this process does not have" }, 503);
  const started = await Promise.race([
    current.ready.then(() => true),
    new Promise((r) => setTimeout(r, 10_000, false)),
  ]);
  if (!started)
    return c.json({ error: "The webhook tables are not ready yet (is the database up?); retry later" }, 503);
  if (current.refusal) return c.json({ error: current.refusal }, 503);
  return current;
}

async function counts(current: Webhooks, id?: string): Promise<Map<string, Record<string, number>>> {
  const rows = await current.sql.query<{ subscription_id: string; status: string; n: number | string }>(
    `SELECT subscription_id, status, count(*) AS n FROM "${current.schema}".delivery ${id ? "WHERE subscription_id = $1" : ""} GROUP BY 1, 2`,
    id ? [id] : [],
  );
  const result = new Map<string, Record<string, number>>();
  for (const row of rows) {
    const entry = result.get(row.subscription_id) ?? { pending: 0, delivered: 0, failed: 0 };
    entry[row.status] = Number(row.n);
    result.set(row.subscription_id, entry);
  }
  return result;
}

function deliveryJson(row: DeliveryRow) {
  return {
    id: Number(row.id),
    subscription: row.subscription_id,
    kind: row.kind,
    eventId: row.event_id,
    cursor: row.cursor,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === "pending" ? new Date(Number(row.next_attempt_at)).toISOString() : null,
    lastStatus: row.last_status,
    lastError: row.last_error,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    deliveredAt: row.delivered_at === null ? null : new Date(Number(row.delivered_at)).toISOString(),
    body: JSON.parse(row.body),
  };
}

async function readJson(c: Context): Promise<unknown> {
  try {
    const text = await c.req.text();
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    throw new WebhookConfigError("the request body is not JSON");
  }
}

/** The admin API, mounted by src/api/index.ts at /admin/webhooks. */
export const webhooksAdmin = new Hono();
webhooksAdmin.use("*", adminOnly);

webhooksAdmin.get("/", async (c) => {
  const current = await state(c);
  if (current instanceof Response) return current;
  const rows = await current.sql.query<SubscriptionRow>(
    `SELECT * FROM "${current.schema}".subscription ORDER BY created_at, id`,
  );
  const all = await counts(current);
  return c.json({
    leader: current.dispatcher.leader,
    subscriptions: rows.map((row) => subscriptionJson(row, all.get(row.id) ?? { pending: 0, delivered: 0, failed: 0 })),
  });
});

webhooksAdmin.post("/", async (c) => {
  const current = await state(c);
  if (current instanceof Response) return current;
  let spec: SubscriptionSpec;
  try {
    spec = parseSubscription(await readJson(c), {
      where: "subscription",
      maxConfirmations: maxConfirmations(),
      generate: true,
    });
  } catch (error) {
    if (error instanceof WebhookConfigError) return c.json({ error: error.message }, 400);
    throw error;
  }
  const columns = specColumns(spec);
  const now = Date.now();
  const inserted = await current.sql.query<SubscriptionRow>(
    `INSERT INTO "${current.schema}".subscription (id, url, secret, stream, filters, confirmations, max_attempts, enabled, origin, start, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, 'api', $9, $10, $10) ON CONFLICT (id) DO NOTHING RETURNING *`,
    [
      spec.id,
      columns.url,
      columns.secret,
      columns.stream,
      columns.filters,
      columns.confirmations,
      columns.max_attempts,
      columns.enabled,
      columns.start,
      now,
    ],
  );
  if (inserted.length === 0) return c.json({ error: `A subscription "${spec.id}" exists already` }, 409);
  current.dispatcher.resync();
  // The only time the secret is shown: the receiver needs it to check signatures.
  return c.json({ ...subscriptionJson(inserted[0]), secret: spec.secret }, 201);
});

webhooksAdmin.get("/:id", async (c) => {
  const current = await state(c);
  if (current instanceof Response) return current;
  const [row] = await current.sql.query<SubscriptionRow>(
    `SELECT * FROM "${current.schema}".subscription WHERE id = $1`,
    [c.req.param("id")],
  );
  if (!row) return c.json({ error: `No subscription "${c.req.param("id")}"` }, 404);
  const all = await counts(current, row.id);
  return c.json(subscriptionJson(row, all.get(row.id) ?? { pending: 0, delivered: 0, failed: 0 }));
});

webhooksAdmin.delete("/:id", async (c) => {
  const current = await state(c);
  if (current instanceof Response) return current;
  const deleted = await current.sql.query(`DELETE FROM "${current.schema}".subscription WHERE id = $1 RETURNING id`, [
    c.req.param("id"),
  ]);
  if (deleted.length === 0) return c.json({ error: `No subscription "${c.req.param("id")}"` }, 404);
  current.dispatcher.resync();
  return c.json({ deleted: c.req.param("id") });
});

webhooksAdmin.get("/:id/deliveries", async (c) => {
  const current = await state(c);
  if (current instanceof Response) return current;
  for (const name of Object.keys(c.req.queries())) {
    if (!["status", "limit", "before"].includes(name)) {
      return c.json({ error: `Unknown parameter "${name}": deliveries accept status, limit, before` }, 400);
    }
  }
  const status = c.req.query("status");
  if (status !== undefined && !["pending", "delivered", "failed"].includes(status)) {
    return c.json({ error: '"status" must be pending, delivered or failed' }, 400);
  }
  const limitRaw = c.req.query("limit") ?? "100";
  const beforeRaw = c.req.query("before");
  if (!/^\d{1,4}$/.test(limitRaw) || Number(limitRaw) < 1 || Number(limitRaw) > 1000) {
    return c.json({ error: '"limit" must be a whole number from 1 to 1000' }, 400);
  }
  if (beforeRaw !== undefined && !/^\d{1,18}$/.test(beforeRaw)) {
    return c.json({ error: '"before" must be a delivery id' }, 400);
  }
  const params: unknown[] = [c.req.param("id"), Number(limitRaw)];
  let where = "subscription_id = $1";
  if (status) where += ` AND status = $${params.push(status)}`;
  if (beforeRaw) where += ` AND id < $${params.push(beforeRaw)}`;
  const rows = await current.sql.query<DeliveryRow>(
    `SELECT * FROM "${current.schema}".delivery WHERE ${where} ORDER BY id DESC LIMIT $2`,
    params,
  );
  return c.json({ deliveries: rows.map(deliveryJson) });
});

webhooksAdmin.post("/:id/redrive", async (c) => {
  const current = await state(c);
  if (current instanceof Response) return current;
  let ids: number[] | undefined;
  try {
    const body = (await readJson(c)) as { deliveries?: unknown } | undefined;
    if (body !== undefined) {
      if (typeof body !== "object" || body === null || !Array.isArray(body.deliveries)) {
        throw new WebhookConfigError('the body is {"deliveries": [ids]} or empty (every failed delivery)');
      }
      if (!body.deliveries.every((id) => Number.isSafeInteger(id) && (id as number) > 0)) {
        throw new WebhookConfigError('"deliveries" must list delivery ids');
      }
      ids = body.deliveries as number[];
    }
  } catch (error) {
    if (error instanceof WebhookConfigError) return c.json({ error: error.message }, 400);
    throw error;
  }
  const params: unknown[] = [c.req.param("id"), Date.now()];
  const only = ids ? ` AND id = ANY($${params.push(ids.map(String))}::bigint[])` : "";
  const redriven = await current.sql.query(
    `UPDATE "${current.schema}".delivery SET status = 'pending', attempts = 0, next_attempt_at = $2
     WHERE subscription_id = $1 AND status = 'failed'${only} RETURNING id`,
    params,
  );
  current.dispatcher.wake();
  return c.json({ redriven: redriven.length });
});

webhooksAdmin.onError((error, c) => {
  console.error(`webhook admin API: ${error.message}`);
  return c.json({ error: "Internal error in the webhook admin API" }, 500);
});

// Deliveries must not wait for the first admin request: start with the API.
startWebhooks();
