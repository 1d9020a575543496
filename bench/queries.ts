/**
 * Queries: the frontend, analyst and bot queries of docs/queries.md (between `<!-- query:NAME -->`
 * markers, each followed by a ```graphql block and optionally `<!-- variables:NAME -->` and a ```json
 * block), or equivalents when that file has none, each under a bounded load with autocannon on
 * 127.0.0.1. Variables come from the ledger: a busy caller, the settled invoice with the longest
 * story, the busiest model, the whole day range, the commonest slash reason and a cursor in its middle.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import autocannon from "autocannon";
import { scrape } from "../harness/metrics.js";
import type { PonderProcess } from "../harness/ponder.js";
import { ROOT } from "../scripts/lib/compile.js";
import type { Ledger } from "../scripts/simulator/ledger.js";

export type BenchQuery = {
  name: string;
  query: string;
  variables: Record<string, unknown>;
  /** "docs/queries.md" or "built-in". */
  source: string;
  /** Variables to cycle through, one set per request, instead of `variables` every time. */
  variablePool?: Record<string, unknown>[];
};

export type QueryResult = {
  name: string;
  concurrency: number;
  p50Ms: number;
  p99Ms: number;
  rps: number;
  errors: number;
  requests: number;
  meanMs: number;
  maxMs: number;
  /** Bytes of one answer. */
  responseBytes: number;
  errorBreakdown: { non2xx: number; graphqlErrors: number; socket: number; timeouts: number };
  durationSeconds: number;
  /**
   * Share of the requests answered without running their query: from the GraphQL answer cache, or by
   * waiting for an identical request's computation ("shared"). Absent when the cache is off.
   */
  cacheHitRatio?: number;
};

/** The GraphQL answer cache's lookups so far: hits (shared ones included) and misses; undefined when off. */
async function cacheLookups(url: string): Promise<{ hit: number; miss: number } | undefined> {
  const samples = await scrape(url, "openledger_graphql_cache_lookups_total").catch(() => []);
  if (samples.length === 0) return undefined;
  const value = (outcome: string) => samples.find((sample) => sample.labels.outcome === outcome)?.value ?? 0;
  return { hit: value("hit") + value("shared"), miss: value("miss") };
}

export const BUILT_IN_QUERIES: Omit<BenchQuery, "source">[] = [
  {
    name: "frontend_account_invoices",
    query: `query AccountInvoices($caller: String!) {
  invoices(where: { caller: $caller }, orderBy: "invoiceId", orderDirection: "desc", limit: 10) {
    totalCount
    pageInfo { hasNextPage endCursor }
    items { invoiceId status amount modelId holder issuedAt settledAt }
  }
}`,
    variables: {},
  },
  {
    name: "frontend_invoice_story",
    query: `query InvoiceStory($chainId: Float!, $invoiceId: BigInt!) {
  invoice(chainId: $chainId, invoiceId: $invoiceId) {
    invoiceId status caller provider holder modelId agentId
    inputTokens outputTokens latencyMs sloLatencyMs sloMet modelVersion trainingLogHash
    amount feeMultiplierBps taxRateBps penaltyBps providerStake dueAt
    payer settleAt paid tax refund distributed holderCredited bundleId issuedAt settledAt
    shares { items { position contributor role shareBps credited } }
    datasets { items { position datasetHash datanetId version } }
    transfers(orderBy: "id") { items { from to bundleId timestamp } }
    payouts(orderBy: "id") { items { account role amount } }
    activity(orderBy: "id") { items { type account counterparty amount timestamp } }
  }
}`,
    // The bench chain is one anvil chain: every key starts with its chainId.
    variables: { chainId: 31337 },
  },
  {
    name: "frontend_model_page",
    query: `query ModelPage($chainId: Float!, $modelId: String!) {
  model(chainId: $chainId, modelId: $modelId) {
    modelId provider pricePerKToken sloLatencyMs penaltyBps invoices tokens gross sloMet registeredAt
    daily(orderBy: "day", orderDirection: "desc", limit: 30) {
      items { day invoices inputTokens outputTokens gross sloMet latencySum latencyMax settled paid refunds }
    }
  }
}`,
    // The bench chain is one anvil chain: every key starts with its chainId.
    variables: { chainId: 31337 },
  },
  {
    name: "analyst_earnings_by_day",
    query: `query EarningsByDay($fromDay: Int!, $toDay: Int!) {
  earningsDailys(where: { day_gte: $fromDay, day_lte: $toDay }, orderBy: "amount", orderDirection: "desc", limit: 100) {
    items { account role day amount payouts }
  }
}`,
    variables: {},
  },
  {
    name: "analyst_model_daily",
    query: `query ModelDaily($modelId: String!) {
  modelDailys(where: { modelId: $modelId }, orderBy: "day", orderDirection: "asc", limit: 100) {
    items { day invoices inputTokens outputTokens gross sloMet latencySum latencyMax settled paid refunds }
  }
}`,
    variables: {},
  },
  {
    name: "analyst_top_earners",
    query: `query TopEarners {
  accounts(orderBy: "earned", orderDirection: "desc", limit: 20) {
    items { address earned claimed claimable spent stake slashed invoicesAsCaller invoicesAsProvider }
  }
}`,
    variables: {},
  },
  {
    name: "bot_slashes_since",
    query: `query SlashesSince($reason: Int!, $cursor: String!) {
  slashs(where: { reason: $reason, id_gt: $cursor }, orderBy: "id", orderDirection: "asc", limit: 100) {
    items { id staker invoiceId reason amount remainingStake evidence blockNumber txHash }
  }
}`,
    variables: {},
  },
];

/** Queries between `<!-- query:NAME -->` markers of a Markdown file, with their variables blocks. */
export function parseReadmeQueries(markdown: string): Omit<BenchQuery, "source">[] {
  const queries: Omit<BenchQuery, "source">[] = [];
  const queryRe = /<!--\s*query:([\w.-]+)\s*-->\s*```graphql\s*\n([\s\S]*?)```/g;
  for (const match of markdown.matchAll(queryRe)) {
    const name = match[1];
    const variablesRe = new RegExp(
      `<!--\\s*variables:${name.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&")}\\s*-->\\s*\`\`\`json\\s*\\n([\\s\\S]*?)\`\`\``,
    );
    const variablesMatch = variablesRe.exec(markdown);
    let variables: Record<string, unknown> = {};
    if (variablesMatch) {
      try {
        variables = JSON.parse(variablesMatch[1]) as Record<string, unknown>;
      } catch (error) {
        throw new Error(`variables:${name} is not JSON: ${(error as Error).message}`);
      }
    }
    queries.push({ name, query: match[2].trim(), variables });
  }
  return queries;
}

/** Values from the ledger for the variables a benchmark query may declare, by variable name. */
export type LedgerPicks = {
  busyCaller: string;
  /** The account with the most earningsDaily rows (payouts in many roles and days). */
  busyEarner: string;
  busyProvider: string;
  busyStaker: string;
  topContributor: string;
  richInvoiceId: string;
  busiestModel: string;
  fromDay: number;
  toDay: number;
  slashReason: number;
  /** The candidates of each kind, busiest first, for skewed variable pools (`skewedRanks`). */
  ranked: Record<RankedKind, string[]>;
};

type RankedKind = "caller" | "earner" | "provider" | "staker" | "contributor" | "invoice" | "model";

/** How many candidates of each kind a pool draws from, and how many variable sets it has. */
const RANKED_CANDIDATES = 1_000;
const POOL_SIZE = 2_000;

/** `items` sorted by `score`, highest first, at most RANKED_CANDIDATES of them. */
function rankBy<T>(items: T[], score: (item: T) => number): T[] {
  return [...items].sort((a, b) => score(b) - score(a)).slice(0, RANKED_CANDIDATES);
}

export function pickFromLedger(ledger: Ledger): LedgerPicks {
  const accounts = Object.entries(ledger.accounts);
  const stakeCounts = new Map<string, number>();
  for (const change of ledger.stakeChanges) stakeCounts.set(change.staker, (stakeCounts.get(change.staker) ?? 0) + 1);
  const treasuries = new Set([ledger.meta.treasury]);
  const settled = Object.values(ledger.invoices).filter((invoice) => invoice.status === "settled");
  const earnerRows = new Map<string, number>();
  for (const entry of Object.values(ledger.earningsDaily)) {
    earnerRows.set(entry.account, (earnerRows.get(entry.account) ?? 0) + 1);
  }
  const days = Object.values(ledger.earningsDaily).map((entry) => entry.day);
  const toDay = Math.max(...days) + 1;
  const fromDay = Math.min(...days);
  const reasons = new Map<number, number>();
  for (const slash of ledger.slashes) reasons.set(slash.reason, (reasons.get(slash.reason) ?? 0) + 1);
  const slashReason = rankBy([...reasons], ([, n]) => n)[0][0];
  // Busiest first; the single picks are each list's head (the sort is stable, so ties go to the
  // first in the ledger's order, as they did when the picks were taken one by one).
  const ranked: Record<RankedKind, string[]> = {
    caller: rankBy(accounts, ([, a]) => a.invoicesAsCaller).map(([address]) => address),
    earner: rankBy([...earnerRows], ([, n]) => n).map(([address]) => address),
    provider: rankBy(accounts, ([, a]) => a.invoicesAsProvider).map(([address]) => address),
    staker: rankBy([...stakeCounts], ([, n]) => n).map(([address]) => address),
    contributor: rankBy(
      accounts.filter(([address]) => !treasuries.has(address as `0x${string}`)),
      ([, a]) => Number(BigInt(a.earned) / 10n ** 12n),
    ).map(([address]) => address),
    invoice: rankBy(
      settled,
      (invoice) =>
        invoice.shares.length + invoice.datasets.length + invoice.transferCount * 2 + (invoice.bundleId ? 1 : 0),
    ).map((invoice) => invoice.invoiceId),
    model: rankBy(Object.entries(ledger.models), ([, m]) => m.invoices).map(([modelId]) => modelId),
  };
  return {
    ranked,
    busyCaller: ranked.caller[0],
    busyEarner: ranked.earner[0],
    busyProvider: ranked.provider[0],
    busyStaker: ranked.staker[0],
    topContributor: ranked.contributor[0],
    richInvoiceId: ranked.invoice[0],
    busiestModel: ranked.model[0],
    fromDay,
    toDay,
    slashReason,
  };
}

/** The variables a query declares: `$name: Type`. */
export function declaredVariables(query: string): Map<string, string> {
  const header = /^[^{]*\(([^)]*)\)/.exec(query);
  const declared = new Map<string, string>();
  if (!header) return declared;
  for (const match of header[1].matchAll(/\$(\w+)\s*:\s*([\w!\][]+)/g)) declared.set(match[1], match[2]);
  return declared;
}

const NAME_RULES: [RegExp, (picks: LedgerPicks, cursor: string) => unknown, RankedKind?][] = [
  [/^(caller|payer|user|wallet)$/i, (p) => p.busyCaller, "caller"],
  [/^(account|address|accountAddress|holder|owner|earner)$/i, (p) => p.busyEarner, "earner"],
  [/^provider$/i, (p) => p.busyProvider, "provider"],
  [/^staker$/i, (p) => p.busyStaker, "staker"],
  [/^(contributor|payee)$/i, (p) => p.topContributor, "contributor"],
  [/^(invoiceId|invoice|id)$/i, (p) => p.richInvoiceId, "invoice"],
  [/^(modelId|model)$/i, (p) => p.busiestModel, "model"],
  [/^(fromDay|dayFrom|from|dayGte|startDay|sinceDay|firstDay)$/i, (p) => p.fromDay],
  [/^(toDay|dayTo|to|dayLte|endDay|untilDay|lastDay|day)$/i, (p) => p.toDay],
  [/^(reason|slashReason)$/i, (p) => p.slashReason],
  [/^(cursor|idGt|id_gt|lastId|sinceId|afterId|lastSeenId)$/i, (_p, cursor) => cursor],
];

/**
 * Resolves a query's variables: ledger values for the names we recognise, the documented values for
 * the others. Returns the names it could not fill (the query then fails its first check).
 */
export function resolveVariables(
  query: Omit<BenchQuery, "source">,
  picks: LedgerPicks,
  cursor: string,
): {
  variables: Record<string, unknown>;
  fromLedger: string[];
  missing: string[];
  variablePool?: Record<string, unknown>[];
} {
  const variables: Record<string, unknown> = { ...query.variables };
  const fromLedger: string[] = [];
  const missing: string[] = [];
  const skewed: { name: string; kind: RankedKind; coerce: (value: unknown) => unknown }[] = [];
  for (const [name, type] of declaredVariables(query.query)) {
    const rule = NAME_RULES.find(([re]) => re.test(name));
    if (rule) {
      const coerce = (value: unknown) =>
        /^Int/.test(type) ? Number(value) : /^(BigInt|String)/.test(type) ? String(value) : value;
      variables[name] = coerce(rule[1](picks, cursor));
      fromLedger.push(name);
      if (rule[2] && picks.ranked[rule[2]].length > 1) skewed.push({ name, kind: rule[2], coerce });
    } else if (!(name in variables) && type.endsWith("!")) {
      missing.push(name);
    }
  }
  if (skewed.length === 0) return { variables, fromLedger, missing };
  // Requests ask for the busiest accounts, invoices and models most, and for a long tail too.
  const variablePool = skewedRanks(POOL_SIZE).map((rank) => {
    const set = { ...variables };
    for (const { name, kind, coerce } of skewed) {
      const candidates = picks.ranked[kind];
      set[name] = coerce(candidates[rank % candidates.length]);
    }
    return set;
  });
  return { variables, fromLedger, missing, variablePool };
}

/**
 * `count` ranks drawn from a Zipf distribution (s = 1) over RANKED_CANDIDATES ranks, with a fixed
 * seed: rank 0 about 13 % of the draws, the top 10 about 39 %, and 47 % beyond the top 30.
 */
export function skewedRanks(count: number, seed = 1): number[] {
  const weights = Array.from({ length: RANKED_CANDIDATES }, (_, rank) => 1 / (rank + 1));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const cumulative: number[] = [];
  let running = 0;
  for (const weight of weights) {
    running += weight / total;
    cumulative.push(running);
  }
  // mulberry32: a small deterministic generator, so every run asks the same sequence.
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => {
    const u = random();
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle] < u) low = middle + 1;
      else high = middle;
    }
    return low;
  });
}

/** The worked queries the benchmark loads by default (the README's three short ones are left out). */
const DOCUMENTED_QUERIES = "docs/queries.md";

/** The queries of docs/queries.md if it has any, else the built-in equivalents; or those of `file` (same markers). */
export function loadQueries(file?: string): { queries: Omit<BenchQuery, "source">[]; source: string } {
  if (file) {
    const queries = parseReadmeQueries(readFileSync(file, "utf8"));
    if (queries.length === 0) throw new Error(`${file} has no <!-- query:NAME --> blocks`);
    return { queries, source: path.relative(ROOT, path.resolve(file)) };
  }
  const documented = path.join(ROOT, DOCUMENTED_QUERIES);
  if (existsSync(documented)) {
    const queries = parseReadmeQueries(readFileSync(documented, "utf8"));
    if (queries.length > 0) return { queries, source: DOCUMENTED_QUERIES };
  }
  return { queries: BUILT_IN_QUERIES, source: `built-in (${DOCUMENTED_QUERIES} has no <!-- query:NAME --> blocks)` };
}

/** A bot's cursor: the id of the middle slash with the commonest reason (so pages are full). */
export async function slashCursor(ponder: PonderProcess, reason: number): Promise<string> {
  const answer = await ponder.graphql<{ slashs: { items: { id: string }[] } }>(
    `query($reason: Int!) { slashs(where: { reason: $reason }, orderBy: "id", limit: 1000) { items { id } } }`,
    { reason },
  );
  const ids = answer.data?.slashs.items.map((item) => item.id) ?? [];
  return ids.length > 0 ? ids[Math.floor(ids.length / 2)] : "0";
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/** One bounded load: `connections` clients, each sending the query again as soon as it is answered. */
export async function loadTest(
  url: string,
  query: BenchQuery,
  connections: number,
  durationSeconds: number,
): Promise<QueryResult> {
  const body = JSON.stringify({ query: query.query, variables: query.variables });
  const check = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const text = await check.text();
  if (check.status !== 200 || text.includes('"errors"')) {
    throw new Error(`query ${query.name} fails before the load (${check.status}): ${text.slice(0, 500)}`);
  }
  const times: number[] = [];
  let graphqlErrors = 0;
  let sent = 0;
  const instance = autocannon({
    url: `${url}/graphql`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections,
    duration: durationSeconds,
    pipelining: 1,
    timeout: 10,
    // A pool of variables: each request takes the next set (autocannon calls setupRequest per request).
    ...(query.variablePool && {
      requests: [
        {
          setupRequest: (request: Record<string, unknown>) => {
            const variables = query.variablePool![sent++ % query.variablePool!.length];
            return { ...request, body: JSON.stringify({ query: query.query, variables }) };
          },
        },
      ],
    }),
    verifyBody: (answer) => {
      const ok = !answer.includes('"errors"');
      if (!ok) graphqlErrors++;
      return ok;
    },
  });
  instance.on("response", (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    times.push(responseTime);
  });
  const result = await instance;
  times.sort((a, b) => a - b);
  const requests = times.length;
  const socket = result.errors - result.timeouts;
  return {
    name: query.name,
    concurrency: connections,
    p50Ms: round2(percentile(times, 50)),
    p99Ms: round2(percentile(times, 99)),
    rps: Math.round(requests / result.duration),
    errors: result.non2xx + result.mismatches + result.errors,
    requests,
    meanMs: round2(times.reduce((sum, t) => sum + t, 0) / Math.max(1, requests)),
    maxMs: round2(times[times.length - 1] ?? Number.NaN),
    responseBytes: Buffer.byteLength(text),
    errorBreakdown: { non2xx: result.non2xx, graphqlErrors, socket, timeouts: result.timeouts },
    durationSeconds: result.duration,
  };
}

export async function runQueries(options: {
  ponder: PonderProcess;
  ledger: Ledger;
  concurrencies: number[];
  durationSeconds: number;
  warmupSeconds: number;
  /** Markdown with `<!-- query:NAME -->` blocks instead of docs/queries.md (experiments with variants). */
  queriesFile?: string;
  log: (message: string) => void;
}): Promise<{ results: QueryResult[]; queries: BenchQuery[]; source: string }> {
  const { queries: raw, source } = loadQueries(options.queriesFile);
  const picks = pickFromLedger(options.ledger);
  const cursor = await slashCursor(options.ponder, picks.slashReason);
  const queries: BenchQuery[] = raw.map((query) => {
    const { variables, missing, variablePool } = resolveVariables(query, picks, cursor);
    if (missing.length > 0) options.log(`queries: ${query.name}: no value for ${missing.join(", ")}`);
    return { ...query, variables, source, ...(variablePool && { variablePool }) };
  });
  queries.push(...featureQueries(options.ledger));
  const results: QueryResult[] = [];
  for (const query of queries) {
    if (options.warmupSeconds > 0) await loadTest(options.ponder.url, query, 10, options.warmupSeconds);
    for (const connections of options.concurrencies) {
      const before = await cacheLookups(options.ponder.url);
      const result = await loadTest(options.ponder.url, query, connections, options.durationSeconds);
      const after = await cacheLookups(options.ponder.url);
      if (before && after) {
        const hits = after.hit - before.hit;
        result.cacheHitRatio = round2(hits / Math.max(1, hits + after.miss - before.miss));
      }
      results.push(result);
      options.log(
        `queries: ${query.name.padEnd(28)} c=${String(connections).padStart(2)}  p50 ${result.p50Ms} ms  ` +
          `p99 ${result.p99Ms} ms  ${result.rps} req/s  ${result.errors} errors` +
          (result.cacheHitRatio === undefined ? "" : `  cache hits ${Math.round(result.cacheHitRatio * 100)} %`),
      );
    }
  }
  return { results, queries, source };
}

// ------------------------------------------------------------------- GraphQL features (issue 13)

/** How many different variable sets each feature query cycles through. */
const FEATURE_VARIANTS = 50;

/** Every `step`-th item of a list, up to `count` of them (spread over the list, deterministic). */
function spread<T>(items: T[], count: number): T[] {
  const step = Math.max(1, Math.floor(items.length / count));
  return items.filter((_, i) => i % step === 0).slice(0, count);
}

/**
 * The queries of docs/graphql.md's new features, each run with varied variables from the ledger
 * (many contributors, many models, both statuses): a contributor's shares filtered and sorted by their
 * invoice, a contributor's weekly earnings, and a model's monthly revenue.
 */
export function featureQueries(ledger: Ledger): BenchQuery[] {
  const invoices = Object.values(ledger.invoices);
  const chainId = ledger.meta.chainId;
  const contributors = [
    ...new Set(invoices.flatMap((invoice) => invoice.shares.map((share) => share.contributor))),
  ].sort();
  const earners = [...new Set(Object.values(ledger.earningsDaily).map((entry) => entry.account))].sort();
  const models = Object.keys(ledger.models).sort();
  const source = "built-in (GraphQL features, docs/graphql.md)";
  return [
    {
      name: "feature_contributor_invoices_by_status",
      query: `query ContributorInvoices($chainId: Int!, $contributor: String!, $status: String!) {
  invoiceShares(where: { chainId: $chainId, contributor: $contributor, invoice_: { status: $status } }, orderBy: "invoice__issuedAt desc", limit: 10) {
    totalCount
    items { invoiceId position role credited invoice { status amount paid issuedAt settledAt } }
  }
}`,
      variables: { chainId, contributor: contributors[0], status: "settled" },
      variablePool: spread(contributors, FEATURE_VARIANTS).map((contributor, i) => ({
        chainId,
        contributor,
        status: i % 3 === 2 ? "issued" : "settled",
      })),
      source,
    },
    {
      name: "feature_weekly_earnings",
      query: `query WeeklyEarnings($chainId: Int!, $account: String!) {
  earningsDailyAggregate(where: { chainId: $chainId, account: $account }, groupBy: [account, role], interval: week, limit: 200) {
    key { account role } bucket count sum { amount }
  }
}`,
      variables: { chainId, account: earners[0] },
      variablePool: spread(earners, FEATURE_VARIANTS).map((account) => ({ chainId, account })),
      source,
    },
    {
      name: "feature_monthly_model_revenue",
      query: `query MonthlyRevenue($chainId: Int!, $modelId: String!) {
  invoiceAggregate(where: { chainId: $chainId, modelId: $modelId, status: "settled" }, groupBy: [modelId], interval: month, timeColumn: settledAt) {
    key { modelId } bucket count sum { paid tax refund } avg { paid }
  }
}`,
      variables: { chainId, modelId: models[0] },
      variablePool: spread(models, FEATURE_VARIANTS).map((modelId) => ({ chainId, modelId })),
      source,
    },
  ];
}
