/**
 * The webhook machinery of one process: the repository over its database, the subscriptions of
 * WEBHOOKS_FILE, and the dispatcher. Created by the composition root (src/api/index.ts), which
 * hands it the stream hub's sources and stops it on Ponder's API shutdown.
 */

import { readEnv } from "../../../config/env.js";
import { onStandby } from "../standby.js";
import type { StreamSource } from "../streams/core.js";
import type { StreamKind } from "../streams/filters.js";
import { readWebhooksFile, WebhookConfigError } from "./config.js";
import type { SqlClient } from "./database.js";
import { DEFAULT_DISPATCHER_OPTIONS, WebhookDispatcher } from "./dispatcher.js";
import { WebhookRepository } from "./repository.js";

/** The webhooks of this process. */
export type Webhooks = {
  repository: WebhookRepository;
  dispatcher: WebhookDispatcher;
  /** Resolves once the tables exist and the file is applied (the dispatcher runs from then on). */
  ready: Promise<void>;
  /** The deepest `confirmations` a subscription may ask for. */
  maxConfirmations: () => number;
  stop: () => Promise<void>;
  /** Why the admin API is off in this process (a hot standby without PRIMARY_DATABASE_URL). */
  refusal?: string;
};

/**
 * Starts the webhook machinery: tables, file subscriptions, dispatcher. Errors in WEBHOOKS_FILE are
 * reported and leave the dispatcher running for the subscriptions already stored.
 */
export function startWebhooks(options: {
  sql: SqlClient;
  schema: string;
  sources: (kind: StreamKind) => StreamSource;
  maxConfirmations: () => number;
}): Webhooks {
  const repository = new WebhookRepository(options.sql, options.schema);
  const dispatcher = new WebhookDispatcher(repository, options.sources, {
    ...DEFAULT_DISPATCHER_OPTIONS,
    backoff: {
      baseMs: readEnv("WEBHOOK_RETRY_BASE_MS"),
      capMs: readEnv("WEBHOOK_RETRY_CAP_MS"),
      maxAttempts: readEnv("WEBHOOK_MAX_ATTEMPTS"),
    },
    timeoutMs: readEnv("WEBHOOK_TIMEOUT_MS"),
    retentionMs: readEnv("WEBHOOK_RETENTION_DAYS") * 24 * 3600 * 1000,
    log: (message) => console.warn(message),
  });
  let stopped = false;
  const webhooks: Webhooks = {
    repository,
    dispatcher,
    ready: Promise.resolve(),
    maxConfirmations: options.maxConfirmations,
    stop: () => {
      stopped = true;
      return dispatcher.stop();
    },
  };
  webhooks.ready = (async () => {
    // A hot standby refuses writes: the state lives on the primary, and only processes there deliver.
    const standby = await onStandby();
    if (standby && !readEnv("PRIMARY_DATABASE_URL")) {
      webhooks.refusal =
        "This replica reads a PostgreSQL hot standby, which refuses writes: set PRIMARY_DATABASE_URL for the webhook admin API";
      console.warn(`Webhooks: ${webhooks.refusal}; deliveries run on the processes connected to the primary`);
      return;
    }
    // The database may not answer yet (a PostgreSQL restarting): retry until it does.
    for (let attempt = 1; !stopped; attempt++) {
      try {
        await repository.migrate();
        break;
      } catch (error) {
        if (attempt === 1 || attempt % 12 === 0) {
          console.error(`Webhooks: cannot create their tables yet (${(error as Error).message}); retrying`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5_000));
      }
    }
    const file = readEnv("WEBHOOKS_FILE");
    if (file && !stopped) {
      try {
        const skipped = await repository.syncFileSubscriptions(readWebhooksFile(file, options.maxConfirmations()));
        for (const id of skipped) {
          console.warn(`WEBHOOKS_FILE: subscription "${id}" was created through the admin API; left as it is`);
        }
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
  return webhooks;
}
