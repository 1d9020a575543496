/**
 * The webhook admin API under /admin/webhooks (README, "For bots"): Authorization: Bearer
 * $WEBHOOK_ADMIN_TOKEN; off without the variable. It reads and writes subscriptions through the
 * repository of the process's webhooks (src/api/webhooks/service.ts) and wakes its dispatcher.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type Context, Hono, type Next } from "hono";
import { readEnv } from "../../../config/env.js";
import { parseSubscription, type SubscriptionSpec, WebhookConfigError } from "./config.js";
import type { Delivery, DeliveryCounts, DeliveryStatus, Subscription } from "./repository.js";
import type { Webhooks } from "./service.js";

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Bearer-token guard: 403 when the admin API is off (no WEBHOOK_ADMIN_TOKEN), 401 on a missing or wrong token. */
async function adminOnly(c: Context, next: Next) {
  const token = readEnv("WEBHOOK_ADMIN_TOKEN");
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

async function state(c: Context, webhooks: Webhooks | undefined): Promise<Webhooks | Response> {
  const current = webhooks;
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

/** The JSON of a subscription for the admin API (the secret is never shown back, except on creation). */
function subscriptionJson(row: Subscription, counts?: DeliveryCounts) {
  return {
    id: row.id,
    url: row.url,
    stream: row.stream,
    filters: row.filters,
    confirmations: row.confirmations,
    maxAttempts: row.maxAttempts,
    enabled: row.enabled,
    origin: row.origin,
    start: row.start === "" ? "0" : row.start,
    cursor: row.cursor,
    createdAt: new Date(row.createdAt).toISOString(),
    deliveries: counts ?? undefined,
  };
}

function deliveryJson(row: Delivery) {
  return {
    id: row.id,
    subscription: row.subscriptionId,
    kind: row.kind,
    eventId: row.eventId,
    cursor: row.cursor,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === "pending" ? new Date(row.nextAttemptAt).toISOString() : null,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    createdAt: new Date(row.createdAt).toISOString(),
    deliveredAt: row.deliveredAt === null ? null : new Date(row.deliveredAt).toISOString(),
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

/**
 * The admin API, mounted by src/api/index.ts at /admin/webhooks; `webhooks` is undefined where the
 * process has no database for them (every route then answers 503).
 */
export function webhookAdminRoutes(webhooks: Webhooks | undefined): Hono {
  const admin = new Hono();
  admin.use("*", adminOnly);

  admin.get("/", async (c) => {
    const current = await state(c, webhooks);
    if (current instanceof Response) return current;
    const rows = await current.repository.subscriptions();
    const counts = await current.repository.deliveryCountsBySubscription();
    return c.json({
      leader: current.dispatcher.leader,
      subscriptions: rows.map((row) => subscriptionJson(row, counts(row.id))),
    });
  });

  admin.post("/", async (c) => {
    const current = await state(c, webhooks);
    if (current instanceof Response) return current;
    let spec: SubscriptionSpec;
    try {
      spec = parseSubscription(await readJson(c), {
        where: "subscription",
        maxConfirmations: current.maxConfirmations(),
        generate: true,
      });
    } catch (error) {
      if (error instanceof WebhookConfigError) return c.json({ error: error.message }, 400);
      throw error;
    }
    const inserted = await current.repository.createSubscription(spec);
    if (!inserted) return c.json({ error: `A subscription "${spec.id}" exists already` }, 409);
    current.dispatcher.resync();
    // The only time the secret is shown: the receiver needs it to check signatures.
    return c.json({ ...subscriptionJson(inserted), secret: spec.secret }, 201);
  });

  admin.get("/:id", async (c) => {
    const current = await state(c, webhooks);
    if (current instanceof Response) return current;
    const row = await current.repository.subscription(c.req.param("id"));
    if (!row) return c.json({ error: `No subscription "${c.req.param("id")}"` }, 404);
    const counts = await current.repository.deliveryCountsBySubscription(row.id);
    return c.json(subscriptionJson(row, counts(row.id)));
  });

  admin.delete("/:id", async (c) => {
    const current = await state(c, webhooks);
    if (current instanceof Response) return current;
    if (!(await current.repository.deleteSubscription(c.req.param("id")))) {
      return c.json({ error: `No subscription "${c.req.param("id")}"` }, 404);
    }
    current.dispatcher.resync();
    return c.json({ deleted: c.req.param("id") });
  });

  admin.get("/:id/deliveries", async (c) => {
    const current = await state(c, webhooks);
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
    if (beforeRaw !== undefined && !/^\d{1,15}$/.test(beforeRaw)) {
      return c.json({ error: '"before" must be a delivery id' }, 400);
    }
    const rows = await current.repository.deliveries(c.req.param("id"), {
      status: status as DeliveryStatus | undefined,
      limit: Number(limitRaw),
      before: beforeRaw === undefined ? undefined : Number(beforeRaw),
    });
    return c.json({ deliveries: rows.map(deliveryJson) });
  });

  admin.post("/:id/redrive", async (c) => {
    const current = await state(c, webhooks);
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
    const redriven = await current.repository.redrive(c.req.param("id"), ids);
    current.dispatcher.wake();
    return c.json({ redriven });
  });

  admin.onError((error, c) => {
    console.error(`webhook admin API: ${error.message}`);
    return c.json({ error: "Internal error in the webhook admin API" }, 500);
  });
  return admin;
}
