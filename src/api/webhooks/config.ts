/**
 * Webhook subscriptions as operators write them, in WEBHOOKS_FILE or in a POST to the admin API,
 * validated into one shape. Pure except for reading the file and the environment (secrets may be
 * named by environment variable so that the file can be committed).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseStart, type StreamStart } from "../streams/cursor.js";
import {
  filterFromJson,
  STREAM_KINDS,
  type StreamFilter,
  type StreamKind,
  StreamQueryError,
} from "../streams/filters.js";

/** A validated subscription. */
export type SubscriptionSpec = {
  id: string;
  url: string;
  secret: string;
  kind: StreamKind;
  filter: StreamFilter;
  confirmations: number;
  /** Where deliveries start when the subscription is new ("now" by default). */
  start: StreamStart;
  /** Attempts before a delivery is parked as failed; undefined: the dispatcher's default. */
  maxAttempts?: number;
  enabled: boolean;
};

/** A refused subscription or file: the message names the field. */
export class WebhookConfigError extends Error {
  override name = "WebhookConfigError";
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const FIELDS = [
  "id",
  "url",
  "secret",
  "secretEnv",
  "stream",
  "filters",
  "confirmations",
  "after",
  "maxAttempts",
  "enabled",
];

/** A fresh random secret, for subscriptions created without one. */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString("hex")}`;
}

/** A random subscription id, for subscriptions created through the API without one. */
export function generateId(): string {
  return `sub_${randomBytes(8).toString("hex")}`;
}

/**
 * Validates one subscription. `where` prefixes messages ("WEBHOOKS_FILE subscriptions[2]").
 * Without `id` or `secret`, `generate` decides whether to make them up (the API) or refuse (the file).
 */
export function parseSubscription(
  input: unknown,
  options: { where: string; maxConfirmations: number; generate: boolean; env?: NodeJS.ProcessEnv },
): SubscriptionSpec {
  const { where } = options;
  const fail = (message: string) => new WebhookConfigError(`${where}: ${message}`);
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw fail("must be a JSON object");
  const value = input as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    if (!FIELDS.includes(key)) throw fail(`unknown field "${key}" (fields: ${FIELDS.join(", ")})`);
  }

  let id: string;
  if (value.id === undefined && options.generate) id = generateId();
  else if (typeof value.id !== "string" || !ID.test(value.id)) {
    throw fail('"id" must be 1 to 64 letters, digits, "_", "." or "-"');
  } else id = value.id;

  if (typeof value.url !== "string") throw fail('"url" is required: the http(s) URL deliveries are POSTed to');
  let url: URL;
  try {
    url = new URL(value.url);
  } catch {
    throw fail(`"url": ${JSON.stringify(value.url)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw fail('"url" must be http or https');

  let secret: string;
  if (value.secretEnv !== undefined) {
    if (typeof value.secretEnv !== "string") throw fail('"secretEnv" must name an environment variable');
    const fromEnv = (options.env ?? process.env)[value.secretEnv];
    if (!fromEnv) throw fail(`"secretEnv": the environment variable ${value.secretEnv} is not set`);
    secret = fromEnv;
  } else if (value.secret === undefined && options.generate) secret = generateSecret();
  else if (typeof value.secret !== "string" || value.secret.length < 16 || value.secret.length > 256) {
    throw fail('"secret" must be a string of 16 to 256 characters (or name one with "secretEnv")');
  } else secret = value.secret;

  const kind = (value.stream ?? "slashes") as StreamKind;
  if (!STREAM_KINDS.includes(kind)) throw fail(`"stream" must be one of ${STREAM_KINDS.join(", ")}`);

  let filter: StreamFilter;
  try {
    filter = filterFromJson(kind, value.filters);
  } catch (error) {
    if (error instanceof StreamQueryError) throw fail(error.message);
    throw error;
  }

  const confirmations = value.confirmations ?? 0;
  if (!Number.isInteger(confirmations) || (confirmations as number) < 0) {
    throw fail('"confirmations" must be a whole number');
  }
  if ((confirmations as number) > options.maxConfirmations) {
    throw fail(`"confirmations" is at most ${options.maxConfirmations} (deeper blocks are final)`);
  }

  let start: StreamStart = { kind: "now" };
  if (value.after !== undefined) {
    const parsed =
      typeof value.after === "string" || typeof value.after === "number" ? parseStart(String(value.after)) : undefined;
    if (!parsed) throw fail('"after" must be "now", "0" (the whole history) or a 75-digit cursor');
    start = parsed;
  }

  let maxAttempts: number | undefined;
  if (value.maxAttempts !== undefined) {
    if (
      !Number.isInteger(value.maxAttempts) ||
      (value.maxAttempts as number) < 1 ||
      (value.maxAttempts as number) > 100
    ) {
      throw fail('"maxAttempts" must be a whole number from 1 to 100');
    }
    maxAttempts = value.maxAttempts as number;
  }

  if (value.enabled !== undefined && typeof value.enabled !== "boolean") throw fail('"enabled" must be true or false');
  return {
    id,
    url: url.toString(),
    secret,
    kind,
    filter,
    confirmations: confirmations as number,
    start,
    maxAttempts,
    enabled: value.enabled !== false,
  };
}

/**
 * Reads WEBHOOKS_FILE: `{ "subscriptions": [...] }` or a bare array. Every subscription needs an
 * `id` (the key that keeps its cursor across restarts) and a `secret` or `secretEnv`.
 */
export function readWebhooksFile(file: string, maxConfirmations: number, env = process.env): SubscriptionSpec[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new WebhookConfigError(`WEBHOOKS_FILE ${file}: ${(error as Error).message}`);
  }
  const list = Array.isArray(raw) ? raw : (raw as { subscriptions?: unknown } | null)?.subscriptions;
  if (!Array.isArray(list)) {
    throw new WebhookConfigError(`WEBHOOKS_FILE ${file}: expected {"subscriptions": [...]} or an array`);
  }
  const specs = list.map((item, index) =>
    parseSubscription(item, { where: `WEBHOOKS_FILE subscriptions[${index}]`, maxConfirmations, generate: false, env }),
  );
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.id)) throw new WebhookConfigError(`WEBHOOKS_FILE: the id "${spec.id}" is used twice`);
    seen.add(spec.id);
  }
  return specs;
}
