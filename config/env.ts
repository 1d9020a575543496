/**
 * Every environment variable the project reads, declared once: its name, what a valid value is,
 * its default and one line saying what it does. docs/configuration.md is generated from these
 * declarations (`npm run docs:config`; a unit test fails when the committed file differs).
 *
 * Every variable is parsed the same way: surrounding blanks are ignored, an empty value is the same
 * as no value (the default), and a malformed value is a ConfigError of one line that names the
 * variable, the value and what is expected, e.g. `CHAIN_ID="zero": expected an integer >= 1`.
 * Nothing is parsed at import: callers call `readEnv` (or `checkEnv`) when they need the value.
 * Imported by ponder.config.ts, src/api and the scripts: keep it free of other imports.
 */

/** A missing or malformed setting: the message is one line that names it and says what to do. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** What a variable's value may be: `expected` is the docs' type column and the error's "expected ...". */
export type Kind<T> = {
  expected: string;
  /** The value of `raw` (trimmed, not empty), or undefined when it is not a valid one. */
  parse: (raw: string) => T | undefined;
};

const MAX_INTEGER = Number.MAX_SAFE_INTEGER;

/** A decimal integer in `min..max` (no exponent, no hex, no fraction). */
export function integer(min: number, max = MAX_INTEGER): Kind<number> {
  return {
    expected: max === MAX_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`,
    parse: (raw) => {
      if (!/^-?\d+$/.test(raw)) return undefined;
      const value = Number(raw);
      return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
    },
  };
}

/** A decimal number > 0 (a rate, which may be fractional). */
export const positiveNumber: Kind<number> = {
  expected: "a number > 0",
  parse: (raw) => {
    const value = Number(raw);
    return /^\d+(\.\d+)?$/.test(raw) && Number.isFinite(value) && value > 0 ? value : undefined;
  },
};

/** A decimal number >= 0 (seconds, which may be fractional). */
export const nonNegativeNumber: Kind<number> = {
  expected: "a number >= 0",
  parse: (raw) => {
    const value = Number(raw);
    return /^\d+(\.\d+)?$/.test(raw) && Number.isFinite(value) ? value : undefined;
  },
};

/** Any text (a path, a name, a token). */
export function text(expected: string): Kind<string> {
  return { expected, parse: (raw) => raw };
}

/** One of a fixed list of words. */
export function oneOf<const T extends string>(values: readonly T[]): Kind<T> {
  return {
    expected: `one of ${values.join(", ")}`,
    parse: (raw) => (values.includes(raw as T) ? (raw as T) : undefined),
  };
}

/** A URL whose scheme matches `scheme` (a regular expression's source, e.g. "https?"). */
export function url(scheme: string, schemes: string): Kind<string> {
  const pattern = new RegExp(`^(${scheme})://\\S+$`);
  return { expected: `a ${schemes} URL`, parse: (raw) => (pattern.test(raw) ? raw : undefined) };
}

/** Comma-separated URLs, each as `url(scheme, schemes)`: a list in order of preference. */
export function urlList(scheme: string, schemes: string): Kind<string[]> {
  const one = url(scheme, schemes);
  return {
    expected: `${schemes} URLs, comma-separated`,
    parse: (raw) => {
      const urls = raw
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean);
      return urls.length > 0 && urls.every((part) => one.parse(part) !== undefined) ? urls : undefined;
    },
  };
}

/** A 0x-prefixed 20-byte hex address (any case; config/settings.ts checksums it). */
export const address: Kind<`0x${string}`> = {
  expected: "a 0x-prefixed 20-byte hex address",
  parse: (raw) => (/^0x[0-9a-fA-F]{40}$/.test(raw) ? (raw as `0x${string}`) : undefined),
};

/** Ponder 0.16 refuses longer schema names (`--schema`, `--views-schema`). */
export const MAX_SCHEMA_LENGTH = 45;

/** A schema name Ponder and PostgreSQL both take unquoted, and not one Ponder or PostgreSQL reserves. */
export const schemaName: Kind<string> = {
  expected: `a schema name: lowercase letters, digits and _, not starting with a digit, at most ${MAX_SCHEMA_LENGTH} characters, not ponder_sync or public`,
  parse: (raw) =>
    /^[a-z_][a-z0-9_]*$/.test(raw) && raw.length <= MAX_SCHEMA_LENGTH && raw !== "ponder_sync" && raw !== "public"
      ? raw
      : undefined,
};

/** A plain lowercase identifier (a schema of our own, not bound by Ponder's length limit). */
const identifier: Kind<string> = {
  expected: "a lowercase identifier: letters, digits and _, not starting with a digit, at most 63 characters",
  parse: (raw) => (/^[a-z_][a-z0-9_]{0,62}$/.test(raw) ? raw : undefined),
};

/** Set (any value) or not: for switches that other tools share, such as DEBUG. */
const present: Kind<true> = { expected: "any value (set means on)", parse: () => true };

/** A git commit (hex, at least 7 digits; any case). */
const commit: Kind<string> = {
  expected: "a git commit: 7 to 40 hex digits",
  parse: (raw) => (/^[0-9a-fA-F]{7,40}$/.test(raw) ? raw.toLowerCase() : undefined),
};

/** `off`, or an integer >= `min`. */
function integerOrOff(min: number): Kind<number | "off"> {
  const number = integer(min);
  return {
    expected: `off, or ${number.expected}`,
    parse: (raw) => (raw === "off" ? "off" : number.parse(raw)),
  };
}

/** The programs (and parts of the indexer) that read variables; the docs list each group apart. */
export const GROUPS = {
  chain: "Indexer: deployment, chains and RPC (ponder.config.ts, config/settings.ts)",
  database: "Indexer: database",
  streams: "HTTP API: streams (src/api)",
  webhooks: "HTTP API: webhooks (src/api)",
  graphql: "HTTP API: GraphQL (src/api/graphql)",
  metrics: "HTTP API: metrics (src/api)",
  standby: "HTTP API: replicas on PostgreSQL hot standbys (src/api/standby.ts)",
  production: "Production: npm run start:prod and npm run serve",
  tools: "Local tools: npm run devnet, npm run demo, the CLIs and the benchmark",
  examples: "Examples (examples/)",
  ponder: "Read by Ponder itself (passed through, not parsed here)",
} as const;
export type Group = keyof typeof GROUPS;

/** One declared variable. `default` applies to an unset or empty variable; `defaultText` documents it. */
export type Variable<T, D extends T | undefined> = {
  group: Group;
  kind: Kind<T>;
  default: D;
  /** The docs' default column when `default` is not the whole story (or there is none). */
  defaultText?: string;
  description: string;
  /** What an error shows of a malformed value (a connection string without its password). */
  redact?: (raw: string) => string;
};

function variable<T, const D extends T | undefined = undefined>(spec: {
  group: Group;
  kind: Kind<T>;
  default?: D;
  defaultText?: string;
  description: string;
  redact?: (raw: string) => string;
}): Variable<T, D> {
  return { ...spec, default: spec.default as D };
}

/** A connection string with its password masked. */
const maskPassword = (raw: string) => raw.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, "$1***@");

const rpcUrls = urlList("https?|wss?", "http(s):// or ws(s)://");

/** Every variable, in the order of the docs. */
export const ENV = {
  // Indexer: deployment, chains and RPC.
  DEPLOYMENT_FILE: variable({
    group: "chain",
    kind: text("a file path (relative to the project)"),
    default: "deployments/localhost.json",
    description:
      "the deployment file: one chain, or `{ chains: [...] }` for several (see its format below); `npm run devnet` writes the default one",
  }),
  RPC_URL: variable({
    group: "chain",
    kind: rpcUrls,
    defaultText: "the file's `rpcUrl`",
    description:
      "JSON-RPC URLs of the chain, tried in order with failover (config/rpc-transport.ts); single-chain files only",
  }),
  CHAIN_ID: variable({
    group: "chain",
    kind: integer(1),
    defaultText: "the file's `chainId`",
    description:
      "the chain's id; start-up stops when the RPC serves another chain (every row is keyed by it); single-chain files only",
  }),
  START_BLOCK: variable({
    group: "chain",
    kind: integer(0),
    defaultText: "the file's `startBlock`",
    description:
      "first block indexed: the contracts' deployment block (a later one yields `anomaly` rows for what it missed); single-chain files only",
  }),
  OPEN_TOKEN_ADDRESS: variable({
    group: "chain",
    kind: address,
    defaultText: "the file's `contracts.OpenToken`",
    description: "the OpenToken contract; single-chain files only",
  }),
  STAKE_MANAGER_ADDRESS: variable({
    group: "chain",
    kind: address,
    defaultText: "the file's `contracts.StakeManager`",
    description: "the StakeManager contract; single-chain files only",
  }),
  INVOICE_REGISTRY_ADDRESS: variable({
    group: "chain",
    kind: address,
    defaultText: "the file's `contracts.InvoiceRegistry`",
    description: "the InvoiceRegistry contract; single-chain files only",
  }),
  SETTLEMENT_ENGINE_ADDRESS: variable({
    group: "chain",
    kind: address,
    defaultText: "the file's `contracts.SettlementEngine`",
    description: "the SettlementEngine contract; single-chain files only",
  }),
  RPC_REQUESTS_PER_SECOND: variable({
    group: "chain",
    kind: positiveNumber,
    defaultText: "unlimited",
    description:
      "request-rate limit of each chain's RPC, all attempts counted (a chain's own `requestsPerSecond` wins)",
  }),
  PONDER_RPC_INITIAL_RPS: variable({
    group: "chain",
    kind: positiveNumber,
    defaultText: "20 (Ponder's)",
    description:
      "the request rate Ponder starts each chain's RPC at (a patch to Ponder, docs/ponder-patches.md): set it to what the provider allows; Ponder still lowers it on each 429 and raises it slowly, up to 500",
  }),
  POLLING_INTERVAL_MS: variable({
    group: "chain",
    kind: integer(10),
    defaultText: "200 on chains 31337 and 1337, else 1000",
    description: "how often each chain's head is polled, in milliseconds",
  }),
  ETH_GET_LOGS_BLOCK_RANGE: variable({
    group: "chain",
    kind: integer(1),
    defaultText: "Ponder decides",
    description: "the largest block range of one `eth_getLogs`, for providers that limit it",
  }),
  ORDERING: variable({
    group: "chain",
    kind: oneOf(["multichain", "omnichain", "experimental_isolated"]),
    default: "multichain",
    description: "Ponder's ordering of events across chains (every table is keyed by chainId, so none is shared)",
  }),

  // Indexer: database.
  DATABASE_URL: variable({
    group: "database",
    kind: url("postgres|postgresql", "postgres:// or postgresql://"),
    defaultText: "unset: PGlite",
    description:
      "PostgreSQL, the production database (required by start:prod and serve); also the webhooks' own connection pool",
    redact: maskPassword,
  }),
  PONDER_DATABASE_HEARTBEAT_TIMEOUT_MS: variable({
    group: "database",
    kind: integer(1_000),
    defaultText: "25000 (Ponder's)",
    description:
      "how old the schema lock's heartbeat must be before a restart after a crash takes the schema over; the indexer beats every 2/5 of it (a patch to Ponder, docs/ponder-patches.md)",
  }),
  PGLITE_DIRECTORY: variable({
    group: "database",
    kind: text("a directory path (relative to the project)"),
    default: ".ponder/pglite",
    description: "where the embedded PGlite database lives when DATABASE_URL is unset",
  }),

  // HTTP API: streams.
  STREAM_POLL_MS: variable({
    group: "streams",
    kind: integer(10),
    default: 200,
    description: "how often the stream sources read new rows, in milliseconds",
  }),
  STREAM_HEARTBEAT_MS: variable({
    group: "streams",
    kind: integer(100),
    default: 15_000,
    description: "a comment line is sent to an idle stream client this often, in milliseconds",
  }),
  STREAM_PAGE_SIZE: variable({
    group: "streams",
    kind: integer(1),
    default: 500,
    description: "rows read per query by a stream source",
  }),
  STREAM_MAX_CLIENTS: variable({
    group: "streams",
    kind: integer(1),
    default: 1_000,
    description: "open stream connections per process; more are refused with 503",
  }),
  STREAM_MAX_QUEUE_BYTES: variable({
    group: "streams",
    kind: integer(64 * 1024),
    default: 1024 * 1024,
    description: "bytes queued for one slow client before it is dropped (it resumes from its cursor)",
  }),
  STREAM_STALL_MS: variable({
    group: "streams",
    kind: integer(100),
    default: 60_000,
    description: "a client that reads nothing for this long while data waits for it is dropped, in milliseconds",
  }),

  // HTTP API: webhooks.
  WEBHOOK_ADMIN_TOKEN: variable({
    group: "webhooks",
    kind: text("a token (any text; use a long random one)"),
    defaultText: "unset: the admin API is off",
    description:
      "turns on the webhook admin API under /admin/webhooks (`Authorization: Bearer <token>`); `npm run demo` generates one",
  }),
  WEBHOOKS_FILE: variable({
    group: "webhooks",
    kind: text("a file path"),
    defaultText: "unset",
    description:
      'subscriptions to apply at start: `{ "subscriptions": [...] }` or an array; a subscription\'s `secretEnv` names another variable holding its secret',
  }),
  WEBHOOKS_SCHEMA: variable({
    group: "webhooks",
    kind: identifier,
    default: "openledger_webhooks",
    description: "the schema of the webhook tables (one per indexer deployment)",
  }),
  WEBHOOK_RETRY_BASE_MS: variable({
    group: "webhooks",
    kind: integer(1),
    default: 1_000,
    description:
      "the ceiling of the first retry's delay, doubled per failed attempt; each delay is random below its ceiling, in milliseconds",
  }),
  WEBHOOK_RETRY_CAP_MS: variable({
    group: "webhooks",
    kind: integer(1),
    default: 3_600_000,
    description: "no retry delay's ceiling is above this, in milliseconds",
  }),
  WEBHOOK_MAX_ATTEMPTS: variable({
    group: "webhooks",
    kind: integer(1),
    default: 12,
    description:
      "attempts of a delivery, the first included, before it is parked as failed (a subscription's `maxAttempts` wins)",
  }),
  WEBHOOK_TIMEOUT_MS: variable({
    group: "webhooks",
    kind: integer(100),
    default: 10_000,
    description: "how long one delivery attempt waits for the receiver's answer, in milliseconds",
  }),
  WEBHOOK_RETENTION_DAYS: variable({
    group: "webhooks",
    kind: integer(1),
    default: 7,
    description: "delivered deliveries are deleted after this many days",
  }),

  // HTTP API: GraphQL.
  GRAPHQL_STATEMENT_TIMEOUT_MS: variable({
    group: "graphql",
    kind: integer(1, 600_000),
    default: 5_000,
    description:
      "a statement of the API (GraphQL, and /sql, which shares its connections) running longer is cancelled and answered with an error naming the limit, in milliseconds (PostgreSQL only: PGlite has no statement timeout)",
  }),
  GRAPHQL_CACHE_MB: variable({
    group: "graphql",
    kind: integer(0, 4_096),
    default: 32,
    description:
      "memory for answers kept until the indexed block moves (PostgreSQL only), in MiB; 0 turns the cache off",
  }),
  GRAPHQL_CACHE_STATE_MS: variable({
    group: "graphql",
    kind: integer(0, 5_000),
    default: 100,
    description:
      "how long the cache reuses what it read of the indexed blocks, in milliseconds: a new block reaches GraphQL at most this much later",
  }),
  NODE_ENV: variable({
    group: "graphql",
    kind: text("production, or anything else"),
    description: "`production` hides the message of an unexpected (non-GraphQL) error from GraphQL clients",
  }),

  // HTTP API: metrics.
  METRICS_CACHE_MS: variable({
    group: "metrics",
    kind: integer(0),
    default: 5_000,
    description: "how long /metrics reuses the figures it read from the database and the RPC, in milliseconds",
  }),
  METRICS_SCRAPE_WAIT_MS: variable({
    group: "metrics",
    kind: integer(100),
    default: 3_000,
    description: "a scrape waits this long for fresh figures, then gets the previous ones, in milliseconds",
  }),

  // HTTP API: replicas on PostgreSQL hot standbys.
  PRIMARY_DATABASE_URL: variable({
    group: "standby",
    kind: url("postgres|postgresql", "postgres:// or postgresql://"),
    description:
      "on a replica reading a hot standby: the primary, where the webhook admin API writes (without it the admin API answers 503 there)",
  }),
  STANDBY_MAX_LAG_SECONDS: variable({
    group: "standby",
    kind: nonNegativeNumber,
    default: 30,
    description: "/ready answers 503 on a hot standby whose replay lag is over this many seconds",
  }),
  STANDBY_STATE_MS: variable({
    group: "standby",
    kind: integer(0),
    default: 500,
    description:
      "how long a replica reuses what it read of the standby's state (role, lag, indexed blocks), in milliseconds",
  }),
  STREAM_RESUME_WAIT_MS: variable({
    group: "standby",
    kind: integer(0),
    default: 5_000,
    description:
      "a stream resumed beyond what a standby has replayed waits this long, then is told to retry (503, Retry-After), in milliseconds",
  }),

  // Production.
  DATABASE_SCHEMA: variable({
    group: "production",
    kind: schemaName,
    defaultText: "`openledger` with `npm start`; `openledger_v<version>_<commit>` with `npm run start:prod`",
    description: "the schema this deployment of the indexer writes (Ponder's `--schema`)",
  }),
  DATABASE_VIEWS_SCHEMA: variable({
    group: "production",
    kind: schemaName,
    default: "openledger",
    description: "the stable schema of views of the newest caught-up deployment, which readers and `npm run serve` use",
  }),
  GIT_SHA: variable({
    group: "production",
    kind: commit,
    defaultText: "`git rev-parse HEAD`",
    description: "the commit in start:prod's schema name, for images built without `.git`",
  }),
  SERVE_SCHEMA: variable({
    group: "production",
    kind: schemaName,
    defaultText: "the views schema (`--pinned`: this release's schema)",
    description: "the schema `npm run serve` reads",
  }),
  INDEXER_MAX_HEAP_MB: variable({
    group: "production",
    kind: integerOrOff(192),
    default: 352,
    description:
      "the indexer's V8 heap limit (`--max-old-space-size`) in start:prod and the benchmark; `off` leaves heap and cache to Node and Ponder",
  }),
  PONDER_CACHE_BYTES: variable({
    group: "production",
    kind: integer(0),
    defaultText: "33554432 (32 MiB) with start:prod and the benchmark, else Ponder's (a fifth of the heap limit)",
    description: "Ponder's indexing cache, in bytes",
  }),
  NODE_OPTIONS: variable({
    group: "production",
    kind: text("Node's options"),
    defaultText: "unset",
    description: "Node's own; start:prod appends `--max-old-space-size` to it unless it sets one",
  }),

  // Local tools.
  DEVNET_PORT: variable({
    group: "tools",
    kind: integer(1, 65_535),
    default: 8545,
    description: "the port of `npm run devnet`'s anvil (`--port` wins)",
  }),
  DEMO_PORT: variable({
    group: "tools",
    kind: integer(1, 65_535),
    default: 42069,
    description: "the HTTP port of `npm run demo`'s indexer (`--port` wins)",
  }),
  DEBUG: variable({
    group: "tools",
    kind: present,
    defaultText: "unset",
    description: "the CLIs and the benchmark print a failure's stack, not only its message",
  }),

  // Examples.
  INDEXER_URL: variable({
    group: "examples",
    kind: url("https?", "http(s)://"),
    default: "http://127.0.0.1:42069",
    description: "the indexer that examples/analyst-sql.ts queries",
  }),
  WEBHOOK_SECRET: variable({
    group: "examples",
    kind: text("a subscription's secret (`whsec_...`)"),
    defaultText: "unset (`--secret` instead)",
    description: "the secret examples/slash-bot.ts verifies webhook signatures with",
  }),

  // Read by Ponder itself.
  PORT: variable({
    group: "ponder",
    kind: text("a port number"),
    default: "42069",
    description: "Ponder's HTTP port; it overrides `--port`, and an empty PORT means a random port",
  }),
  PONDER_TELEMETRY_DISABLED: variable({
    group: "ponder",
    kind: text("true"),
    defaultText: "unset",
    description: "`true` stops Ponder from sending telemetry",
  }),
  PONDER_LOG_LEVEL: variable({
    group: "ponder",
    kind: text("silent, error, warn, info, debug or trace"),
    default: "info",
    description: "Ponder's log level (also `--log-level`)",
  }),
} as const;

export type EnvName = keyof typeof ENV;
/** The value `readEnv(name)` returns: the declared type, or undefined for an unset variable without a default. */
export type EnvValue<N extends EnvName> =
  (typeof ENV)[N] extends Variable<infer T, infer D> ? (D extends undefined ? T | undefined : T) : never;

/**
 * The value of variable `name` in `env`: its parsed value, or its default when it is unset or
 * empty. Throws a one-line ConfigError naming the variable, the value and what is expected.
 */
export function readEnv<N extends EnvName>(name: N, env: NodeJS.ProcessEnv = process.env): EnvValue<N> {
  const spec = ENV[name] as Variable<unknown, unknown>;
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return spec.default as EnvValue<N>;
  const value = spec.kind.parse(raw);
  if (value === undefined)
    throw new ConfigError(`${name}=${JSON.stringify(spec.redact?.(raw) ?? raw)}: expected ${spec.kind.expected}`);
  return value as EnvValue<N>;
}

/** True when variable `name` has a value in `env` (neither unset nor blank). */
export function isEnvSet(name: EnvName, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env[name]?.trim());
}

/**
 * Parses every variable of `groups` in `env`, so that a process stops at start with one line
 * instead of when a module first reads a bad value. Throws the first ConfigError.
 */
export function checkEnv(groups: readonly Group[], env: NodeJS.ProcessEnv = process.env): void {
  for (const name of Object.keys(ENV) as EnvName[]) {
    if (groups.includes(ENV[name].group)) readEnv(name, env);
  }
}
