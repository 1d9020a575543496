import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PonderProcess, startPonder } from "../../harness/ponder.js";
import { type PostgresCluster, startPostgres } from "../../harness/postgres.js";
import { killProcess } from "../../harness/process.js";
import { rpc } from "../../scripts/lib/anvil.js";
import type { Ledger, LedgerInvoice } from "../../scripts/simulator/ledger.js";
import { docsExamples } from "./docs.js";
import { type SimulatedChain, simulatedChain } from "./indexed-chain.js";

const SEED = 7;
const INVOICES = Number(process.env.TEST_GRAPHQL_INVOICES ?? 400);

type Page<T> = {
  items: T[];
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null; startCursor: string | null; hasPreviousPage: boolean };
};

/** ISO week start (Monday 00:00 UTC) and calendar month start of a unix time, in unix seconds. */
export function weekStart(seconds: number): number {
  const day = Math.floor(seconds / 86_400);
  // 1970-01-01 was a Thursday: day 4 (1970-01-05) is the first Monday.
  return (day - ((((day - 4) % 7) + 7) % 7)) * 86_400;
}
export function monthStart(seconds: number): number {
  const date = new Date(seconds * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / 1000;
}

/** A seeded pseudo-random generator (mulberry32), so a failing order is replayable. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Compares two values as PostgreSQL orders them ascending: NULL after every value. */
function compareAscending(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a) < String(b) ? -1 : 1;
}

const big = (value: string | null | undefined) => (value === null || value === undefined ? null : BigInt(value));

/** Sort keys the property test draws from: the orderBy key and the ledger's value of it for an invoice. */
function invoiceKeys(ledger: Ledger): Record<string, (invoice: LedgerInvoice) => unknown> {
  return {
    settledAt: (i) => (i.settledAt === null ? null : BigInt(i.settledAt)),
    bundleId: (i) => big(i.bundleId),
    status: (i) => i.status,
    paid: (i) => big(i.paid),
    refund: (i) => big(i.refund),
    latencyMs: (i) => i.latencyMs,
    caller: (i) => i.caller.toLowerCase(),
    model__pricePerKToken: (i) => BigInt(ledger.models[i.modelId]!.pricePerKToken),
    bundle__name: (i) => (i.bundleId === null ? null : ledger.bundles[i.bundleId]!.name),
    bundle__dissolved: (i) => (i.bundleId === null ? null : ledger.bundles[i.bundleId]!.dissolved),
  };
}

/** Filters the property test draws from, with the ledger's version of each. */
function invoiceFilters(ledger: Ledger, rng: () => number) {
  const invoices = Object.values(ledger.invoices);
  const someContributor = () => invoices[Math.floor(rng() * invoices.length)]!.shares[0]?.contributor.toLowerCase();
  const limitId = String(20 + Math.floor(rng() * INVOICES));
  const contributor = someContributor() ?? "0x0000000000000000000000000000000000000000";
  return [
    { where: {}, keep: () => true },
    { where: { invoiceId_lte: limitId }, keep: (i: LedgerInvoice) => BigInt(i.invoiceId) <= BigInt(limitId) },
    {
      where: { status_in: ["settled", "voided"] },
      keep: (i: LedgerInvoice) => i.status === "settled" || i.status === "voided",
    },
    {
      where: { shares_some: { contributor } },
      keep: (i: LedgerInvoice) => i.shares.some((s) => s.contributor.toLowerCase() === contributor),
    },
    {
      where: { OR: [{ bundleId_not: null }, { shares_every: { role: 1 } }] },
      keep: (i: LedgerInvoice) => i.bundleId !== null || i.shares.every((s) => s.role === 1),
    },
  ];
}

/**
 * The GraphQL suite, the same on both databases: relation filters, sorts, cursor paging, aggregates,
 * scalars, `_meta`, limits and the docs' examples, each checked against the simulator's ledger or
 * the chain itself, over real HTTP to a real Ponder.
 */
export function graphqlSuite(database: "pglite" | "postgres") {
  describe(`GraphQL on ${database === "pglite" ? "PGlite" : "PostgreSQL"}`, () => {
    let chain: SimulatedChain;
    let postgres: PostgresCluster | undefined;
    let ponder: PonderProcess;
    let ledger: Ledger;
    const invoices = () => Object.values(ledger.invoices);

    beforeAll(async () => {
      chain = await simulatedChain(SEED, INVOICES);
      ledger = chain.ledger;
      if (database === "postgres") postgres = await startPostgres();
      ponder = await startPonder({
        DEPLOYMENT_FILE: chain.deploymentFile,
        ...(postgres
          ? { DATABASE_URL: postgres.url }
          : { DATABASE_URL: "", PGLITE_DIRECTORY: path.join(chain.workDir, "pglite") }),
      });
      await ponder.waitForBlock(chain.head);
    });

    afterAll(async () => {
      await ponder?.stop();
      await postgres?.stop();
      await chain?.stop();
    });

    const ok = async <T>(query: string, variables?: Record<string, unknown>): Promise<T> => {
      const answer = await ponder.graphql<T>(query, variables);
      expect(answer.errors, query).toBeUndefined();
      return answer.data!;
    };
    const refused = async (query: string, variables?: Record<string, unknown>): Promise<string> => {
      const response = await fetch(`${ponder.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query, variables }),
      });
      expect(response.status, query).toBeLessThan(500);
      const answer = (await response.json()) as { errors?: { message: string }[] };
      expect(answer.errors?.length, query).toBeGreaterThan(0);
      return answer.errors![0]!.message;
    };

    it("filters by a to-one relation: a contributor's shares of settled invoices", async () => {
      const contributors = [...new Set(invoices().flatMap((i) => i.shares.map((s) => s.contributor.toLowerCase())))];
      expect(contributors.length).toBeGreaterThan(3);
      for (const contributor of contributors.slice(0, 4)) {
        const expected = invoices()
          .filter((i) => i.status === "settled")
          .flatMap((i) =>
            i.shares.flatMap((s, position) =>
              s.contributor.toLowerCase() === contributor ? [`${i.invoiceId}:${position}`] : [],
            ),
          )
          .sort();
        const data = await ok<{ invoiceShares: Page<{ invoiceId: string; position: number }> }>(
          `query ($a: String!) { invoiceShares(where: { contributor: $a, invoice_: { status: "settled" } }, limit: 1000) {
            totalCount items { invoiceId position } } }`,
          { a: contributor },
        );
        expect(data.invoiceShares.items.map((s) => `${s.invoiceId}:${s.position}`).sort()).toEqual(expected);
        expect(data.invoiceShares.totalCount).toBe(expected.length);
      }
    });

    it("filters by to-many relations: _some, _every, _none, nested, with AND/OR", async () => {
      const byCaller = new Map<string, LedgerInvoice[]>();
      for (const i of invoices())
        byCaller.set(i.caller.toLowerCase(), [...(byCaller.get(i.caller.toLowerCase()) ?? []), i]);
      const callersWhere = (test: (list: LedgerInvoice[]) => boolean) =>
        [...byCaller]
          .filter(([, list]) => test(list))
          .map(([caller]) => caller)
          .sort();
      const accounts = async (where: Record<string, unknown>) =>
        (
          await ok<{ accounts: Page<{ address: string }> }>(
            "query ($w: accountFilter) { accounts(where: $w, limit: 1000) { items { address } } }",
            { w: where },
          )
        ).accounts.items
          .map((a) => a.address)
          .sort();
      expect(await accounts({ callerInvoices_some: { status: "voided" } })).toEqual(
        callersWhere((list) => list.some((i) => i.status === "voided")),
      );
      expect(await accounts({ callerInvoices_some: {}, callerInvoices_every: { status: "settled" } })).toEqual(
        callersWhere((list) => list.every((i) => i.status === "settled")),
      );
      expect(await accounts({ callerInvoices_some: {}, callerInvoices_none: { status: "settled" } })).toEqual(
        callersWhere((list) => !list.some((i) => i.status === "settled")),
      );
      expect(
        await accounts({
          OR: [{ callerInvoices_some: { status: "voided" } }, { callerInvoices_some: { sloMet: false } }],
        }),
      ).toEqual(callersWhere((list) => list.some((i) => i.status === "voided" || !i.sloMet)));

      // Nested: models with an invoice on which a given contributor has a ROUTER share.
      const routed = invoices().find((i) => i.shares.some((s) => s.role === 3))!;
      const router = routed.shares.find((s) => s.role === 3)!.contributor.toLowerCase();
      const expectedModels = [
        ...new Set(
          invoices()
            .filter((i) => i.shares.some((s) => s.role === 3 && s.contributor.toLowerCase() === router))
            .map((i) => i.modelId.toLowerCase()),
        ),
      ].sort();
      const models = await ok<{ models: Page<{ modelId: string }> }>(
        `query ($r: String!) { models(where: { issuedInvoices_some: { AND: [{ shares_some: { contributor: $r, role: 3 } }] } }, limit: 1000) {
          items { modelId } } }`,
        { r: router },
      );
      expect(models.models.items.map((m) => m.modelId).sort()).toEqual(expectedModels);
    });

    it("pages through random orders and filters, forwards and backwards, each row exactly once and in order", async () => {
      const rng = random(20_260_101);
      const keys = invoiceKeys(ledger);
      const keyNames = Object.keys(keys);
      const filters = invoiceFilters(ledger, rng);
      for (let round = 0; round < 10; round++) {
        const chosen = [...keyNames].sort(() => rng() - 0.5).slice(0, 1 + Math.floor(rng() * 3));
        const directions = chosen.map(() => (rng() < 0.5 ? "asc" : "desc"));
        const orderBy = chosen.map((key, i) => `${key} ${directions[i]}`).join(", ");
        const filter = filters[Math.floor(rng() * filters.length)]!;
        const limit = 1 + Math.floor(rng() * 40);
        const expected = invoices()
          .filter(filter.keep)
          .sort((a, b) => {
            for (const [i, key] of chosen.entries()) {
              const order = compareAscending(keys[key]!(a), keys[key]!(b));
              if (order !== 0) return directions[i] === "asc" ? order : -order;
            }
            // The primary key (chainId, invoiceId) ends the order, in the last key's direction.
            const order = compareAscending(BigInt(a.invoiceId), BigInt(b.invoiceId));
            return directions[directions.length - 1] === "asc" ? order : -order;
          })
          .map((i) => i.invoiceId);
        const query = `query ($w: invoiceFilter, $o: String, $n: Int, $after: String, $before: String) {
          invoices(where: $w, orderBy: $o, limit: $n, after: $after, before: $before) {
            items { invoiceId } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
        const forward: string[] = [];
        let after: string | null = null;
        let lastPage: Page<{ invoiceId: string }> | undefined;
        for (let pages = 0; pages < 2_000; pages++) {
          const data: { invoices: Page<{ invoiceId: string }> } = await ok(query, {
            w: filter.where,
            o: orderBy,
            n: limit,
            after,
          });
          forward.push(...data.invoices.items.map((i) => i.invoiceId));
          lastPage = data.invoices;
          if (!data.invoices.pageInfo.hasNextPage) break;
          after = data.invoices.pageInfo.endCursor;
        }
        const context = `orderBy "${orderBy}", where ${JSON.stringify(filter.where)}, limit ${limit}`;
        expect(forward, context).toEqual(expected);
        // Backwards from the last page's start: the rows before it, then the last page, make the whole list.
        const backward: string[] = [...(lastPage?.items.map((i) => i.invoiceId) ?? [])];
        let before = lastPage?.pageInfo.startCursor ?? null;
        while (before !== null) {
          const data: { invoices: Page<{ invoiceId: string }> } = await ok(query, {
            w: filter.where,
            o: orderBy,
            n: limit,
            before,
          });
          backward.unshift(...data.invoices.items.map((i) => i.invoiceId));
          before = data.invoices.pageInfo.hasPreviousPage ? data.invoices.pageInfo.startCursor : null;
        }
        expect(backward, `backwards: ${context}`).toEqual(expected);
      }
    });

    it("pages through the issue's example (settledAt desc, 7 per page) over all 60 invoices", async () => {
      for (const [orderBy, direction] of [
        ["settledAt", "desc"],
        ["settledAt", "asc"],
        ["bundleId", "asc"],
      ]) {
        const seen: string[] = [];
        let after: string | null = null;
        for (;;) {
          const data: { invoices: Page<{ invoiceId: string }> } = await ok(
            `query ($o: String, $d: String, $after: String) { invoices(where: { invoiceId_lte: "60" }, orderBy: $o, orderDirection: $d, limit: 7, after: $after) {
              items { invoiceId } pageInfo { hasNextPage endCursor } } }`,
            { o: orderBy, d: direction, after },
          );
          seen.push(...data.invoices.items.map((i) => i.invoiceId));
          if (!data.invoices.pageInfo.hasNextPage) break;
          after = data.invoices.pageInfo.endCursor;
        }
        expect(new Set(seen).size, `${orderBy} ${direction}`).toBe(60);
        expect(seen.length).toBe(60);
      }
    });

    it("keeps every share's and contributor row's copy of its invoice's columns equal to the ledger's invoice", async () => {
      const view = "modelId status issuedAt settledAt";
      const data = await ok<{
        invoiceShares: Page<{ invoiceId: string } & Record<string, unknown>>;
        invoiceContributors: Page<{ invoiceId: string } & Record<string, unknown>>;
      }>(`{ invoiceShares(limit: 1000) { totalCount items { invoiceId ${view} } }
            invoiceContributors(limit: 1000) { totalCount items { invoiceId ${view} } } }`);
      const shares = invoices().reduce((n, i) => n + i.shares.length, 0);
      expect(data.invoiceShares.totalCount).toBe(shares);
      expect(shares).toBeLessThanOrEqual(1000);
      for (const row of [...data.invoiceShares.items, ...data.invoiceContributors.items]) {
        const invoice = ledger.invoices[row.invoiceId]!;
        expect({ modelId: row.modelId, status: row.status, issuedAt: row.issuedAt, settledAt: row.settledAt }).toEqual({
          modelId: invoice.modelId.toLowerCase(),
          status: invoice.status,
          issuedAt: String(invoice.issuedAt),
          settledAt: invoice.settledAt === null ? null : String(invoice.settledAt),
        });
      }
      expect(new Set(data.invoiceShares.items.map((row) => row.status)).size).toBeGreaterThan(2);
    });

    it("pages through shares by their invoice's columns, copied or joined, each row exactly once and in order", async () => {
      const rng = random(20_261_203);
      type Share = { invoice: LedgerInvoice; position: number; contributor: string; role: number };
      const shares: Share[] = invoices().flatMap((invoice) =>
        invoice.shares.map((s, position) => ({
          invoice,
          position,
          contributor: s.contributor.toLowerCase(),
          role: s.role,
        })),
      );
      const keys: Record<string, (s: Share) => unknown> = {
        invoice__issuedAt: (s) => BigInt(s.invoice.issuedAt),
        invoice__settledAt: (s) => (s.invoice.settledAt === null ? null : BigInt(s.invoice.settledAt)),
        invoice__status: (s) => s.invoice.status,
        invoice__paid: (s) => big(s.invoice.paid),
        role: (s) => s.role,
      };
      const contributor = shares[Math.floor(rng() * shares.length)]!.contributor;
      const paidAbove = shares.find((s) => s.invoice.paid !== null)!.invoice.paid!;
      const filters = [
        { where: {}, keep: () => true },
        { where: { contributor }, keep: (s: Share) => s.contributor === contributor },
        { where: { invoice_: { status: "settled" } }, keep: (s: Share) => s.invoice.status === "settled" },
        {
          where: { contributor, invoice_: { status_in: ["issued", "scheduled"] } },
          keep: (s: Share) => s.contributor === contributor && ["issued", "scheduled"].includes(s.invoice.status),
        },
        {
          where: { invoice_: { settledAt_not: null, paid_gt: paidAbove } },
          keep: (s: Share) => s.invoice.settledAt !== null && BigInt(s.invoice.paid ?? 0) > BigInt(paidAbove),
        },
      ];
      for (let round = 0; round < 8; round++) {
        const chosen = Object.keys(keys)
          .sort(() => rng() - 0.5)
          .slice(0, 1 + Math.floor(rng() * 2));
        const directions = chosen.map(() => (rng() < 0.5 ? "asc" : "desc"));
        const orderBy = chosen.map((key, i) => `${key} ${directions[i]}`).join(", ");
        const filter = filters[round % filters.length]!;
        const limit = 5 + Math.floor(rng() * 60);
        const last = directions[directions.length - 1] === "asc" ? 1 : -1;
        const expected = shares
          .filter(filter.keep)
          .sort((a, b) => {
            for (const [i, key] of chosen.entries()) {
              const order = compareAscending(keys[key]!(a), keys[key]!(b));
              if (order !== 0) return directions[i] === "asc" ? order : -order;
            }
            // Then the primary key (chainId, invoiceId, position), in the last key's direction.
            return (
              last *
              (compareAscending(BigInt(a.invoice.invoiceId), BigInt(b.invoice.invoiceId)) || a.position - b.position)
            );
          })
          .map((s) => `${s.invoice.invoiceId}:${s.position}`);
        const seen: string[] = [];
        let after: string | null = null;
        for (let pages = 0; pages < 500; pages++) {
          const data: { invoiceShares: Page<{ invoiceId: string; position: number }> } = await ok(
            `query ($w: invoiceShareFilter, $o: String, $n: Int, $after: String) {
              invoiceShares(where: $w, orderBy: $o, limit: $n, after: $after) {
                totalCount items { invoiceId position } pageInfo { hasNextPage endCursor } } }`,
            { w: filter.where, o: orderBy, n: limit, after },
          );
          expect(data.invoiceShares.totalCount).toBe(expected.length);
          seen.push(...data.invoiceShares.items.map((s) => `${s.invoiceId}:${s.position}`));
          if (!data.invoiceShares.pageInfo.hasNextPage) break;
          after = data.invoiceShares.pageInfo.endCursor;
        }
        expect(seen, `orderBy "${orderBy}", where ${JSON.stringify(filter.where)}, limit ${limit}`).toEqual(expected);
      }
    });

    it("sorts shares by their invoice's column (invoice__settledAt desc, then position)", async () => {
      const shares = invoices().flatMap((i) => i.shares.map((_s, position) => ({ i, position })));
      const expected = shares
        .sort(
          (a, b) =>
            -compareAscending(big(a.i.settledAt?.toString()), big(b.i.settledAt?.toString())) ||
            a.position - b.position ||
            compareAscending(BigInt(a.i.invoiceId), BigInt(b.i.invoiceId)),
        )
        .slice(0, 50)
        .map((s) => `${s.i.invoiceId}:${s.position}`);
      const data = await ok<{ invoiceShares: Page<{ invoiceId: string; position: number }> }>(
        `{ invoiceShares(orderBy: "invoice__settledAt desc, position asc", limit: 50) { items { invoiceId position } } }`,
      );
      expect(data.invoiceShares.items.map((s) => `${s.invoiceId}:${s.position}`)).toEqual(expected);
    });

    it("aggregates weekly earnings per contributor and monthly revenue per model, as the ledger does", async () => {
      // Weekly earnings per account: the ledger's daily credits, summed per ISO week.
      const weekly = new Map<string, { sum: bigint; count: number }>();
      for (const row of Object.values(ledger.earningsDaily)) {
        const key = `${row.account.toLowerCase()}|${weekStart(row.day * 86_400)}`;
        const entry = weekly.get(key) ?? { sum: 0n, count: 0 };
        weekly.set(key, { sum: entry.sum + BigInt(row.amount), count: entry.count + 1 });
      }
      const groups: { key: { account: string }; bucket: string; count: number; sum: { amount: string } }[] = [];
      for (let offset = 0; ; offset += 1000) {
        const data = await ok<{ earningsDailyAggregate: typeof groups }>(
          `query ($o: Int) { earningsDailyAggregate(groupBy: [account], interval: week, limit: 1000, offset: $o) {
            key { account } bucket count sum { amount } } }`,
          { o: offset },
        );
        groups.push(...data.earningsDailyAggregate);
        if (data.earningsDailyAggregate.length < 1000) break;
      }
      expect(groups.length).toBe(weekly.size);
      for (const group of groups) {
        const expected = weekly.get(`${group.key.account}|${group.bucket}`);
        expect(expected, `${group.key.account} week ${group.bucket}`).toBeDefined();
        expect(group.sum.amount).toBe(expected!.sum.toString());
        expect(group.count).toBe(expected!.count);
        expect(new Date(Number(group.bucket) * 1000).getUTCDay()).toBe(1);
      }

      // Monthly revenue per model: paid by settled invoices, by month of settlement, from the ledger's invoices.
      const monthly = new Map<string, { paid: bigint; count: number; min: bigint; max: bigint }>();
      for (const i of invoices().filter((i) => i.status === "settled")) {
        const key = `${i.modelId.toLowerCase()}|${monthStart(i.settledAt!)}`;
        const paid = BigInt(i.paid!);
        const entry = monthly.get(key) ?? { paid: 0n, count: 0, min: paid, max: paid };
        monthly.set(key, {
          paid: entry.paid + paid,
          count: entry.count + 1,
          min: paid < entry.min ? paid : entry.min,
          max: paid > entry.max ? paid : entry.max,
        });
      }
      const revenue = await ok<{
        invoiceAggregate: {
          key: { modelId: string };
          bucket: string;
          count: number;
          sum: { paid: string };
          min: { paid: string };
          max: { paid: string };
          avg: { paid: string };
        }[];
      }>(
        `{ invoiceAggregate(where: { status: "settled" }, groupBy: [modelId], interval: month, timeColumn: settledAt, limit: 1000) {
          key { modelId } bucket count sum { paid } min { paid } max { paid } avg { paid } } }`,
      );
      expect(revenue.invoiceAggregate.length).toBe(monthly.size);
      for (const group of revenue.invoiceAggregate) {
        const expected = monthly.get(`${group.key.modelId}|${group.bucket}`)!;
        expect(expected, `${group.key.modelId} month ${group.bucket}`).toBeDefined();
        expect(group.sum.paid).toBe(expected.paid.toString());
        expect(group.count).toBe(expected.count);
        expect(group.min.paid).toBe(expected.min.toString());
        expect(group.max.paid).toBe(expected.max.toString());
        // avg = sum / count, rounded half away from zero to 18 places, trailing zeros dropped.
        const scaled = (expected.paid * 10n ** 18n * 2n + BigInt(expected.count)) / (2n * BigInt(expected.count));
        const whole = scaled / 10n ** 18n;
        const fraction = (scaled % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "");
        expect(group.avg.paid).toBe(fraction ? `${whole}.${fraction}` : whole.toString());
      }

      // Daily payouts per role, from the payout table, against the ledger's daily credits (roles 1..4).
      const daily = new Map<string, bigint>();
      for (const row of Object.values(ledger.earningsDaily)) {
        if (row.role === 0) continue;
        const key = `${row.role}|${row.day * 86_400}`;
        daily.set(key, (daily.get(key) ?? 0n) + BigInt(row.amount));
      }
      const payouts = await ok<{
        payoutAggregate: { key: { role: number }; bucket: string; sum: { amount: string } }[];
      }>("{ payoutAggregate(groupBy: [role], interval: day, limit: 1000) { key { role } bucket sum { amount } } }");
      const nonZero = payouts.payoutAggregate.filter((g) => g.sum.amount !== "0");
      expect(new Map(nonZero.map((g) => [`${g.key.role}|${g.bucket}`, BigInt(g.sum.amount)]))).toEqual(
        new Map([...daily].filter(([, amount]) => amount !== 0n)),
      );

      // Everything at once: one group.
      const all = await ok<{ invoiceAggregate: { count: number; sum: { amount: string } }[] }>(
        "{ invoiceAggregate { count sum { amount } } }",
      );
      expect(all.invoiceAggregate).toEqual([
        {
          count: INVOICES,
          sum: {
            amount: invoices()
              .reduce((sum, i) => sum + BigInt(i.amount), 0n)
              .toString(),
          },
        },
      ]);
    });

    it("types codes as checked scalars, chainId as Int, BigInt arguments as strings or integers, with descriptions", async () => {
      expect(await refused('{ invoices(where: { status: "Settled" }) { totalCount } }')).toMatch(
        /"Settled" is not a valid InvoiceStatus; expected one of "issued", "scheduled", "settled", "voided"/,
      );
      expect(await refused("{ payouts(where: { role: 9 }) { totalCount } }")).toMatch(/not a valid Role/);
      expect(
        await refused("query ($s: String) { invoices(where: { status: $s }) { totalCount } }", { s: "Settled" }),
      ).toMatch(/not a valid InvoiceStatus/);
      const one = ledger.invoices["5"]!;
      for (const type of ["Int!", "Float!"]) {
        const data = await ok<{ invoice: { invoiceId: string; status: string; chainId: number } }>(
          `query ($c: ${type}) { invoice(chainId: $c, invoiceId: 5) { invoiceId status chainId } }`,
          { c: ledger.meta.chainId },
        );
        expect(data.invoice).toEqual({ invoiceId: "5", status: one.status, chainId: ledger.meta.chainId });
      }
      const byInteger = await ok<{ invoices: { totalCount: number } }>(
        "query ($c: Int!) { invoices(where: { chainId: $c, invoiceId_lte: 10 }) { totalCount } }",
        { c: ledger.meta.chainId },
      );
      expect(byInteger.invoices.totalCount).toBe(10);
      expect(await refused("{ invoices(where: { invoiceId_lte: 1.5 }) { totalCount } }")).toMatch(/BigInt/);

      const schema = await ok<{
        __schema: {
          types: {
            name: string;
            kind: string;
            description: string | null;
            fields: { name: string; description: string | null }[] | null;
          }[];
        };
      }>("{ __schema { types { name kind description fields { name description } } } }");
      const missing = schema.__schema.types
        .filter((t) => !t.name.startsWith("__") && !["String", "Int", "Float", "Boolean", "ID"].includes(t.name))
        .flatMap((t) => [
          ...(t.description ? [] : [t.name]),
          ...(t.fields ?? []).filter((f) => !f.description).map((f) => `${t.name}.${f.name}`),
        ]);
      expect(missing).toEqual([]);
      const status = await ok<{ __type: { description: string } }>('{ __type(name: "InvoiceStatus") { description } }');
      expect(status.__type.description).toMatch(/settled/);
    });

    it("answers _meta per chain with the block's number, hash and timestamp", async () => {
      const data = await ok<{
        _meta: {
          status: Record<string, { id: number }>;
          chains: {
            chainId: number;
            block: { number: string; hash: string; timestamp: string };
            hasIndexingErrors: boolean;
          }[];
        };
      }>("{ _meta { status chains { chainId block { number hash timestamp } hasIndexingErrors } } }");
      expect(data._meta.chains).toHaveLength(1);
      const [meta] = data._meta.chains;
      expect(meta!.chainId).toBe(ledger.meta.chainId);
      expect(Number(meta!.block.number)).toBeGreaterThanOrEqual(chain.head);
      const block = await rpc<{ hash: string; timestamp: string }>(chain.anvil.rpcUrl, "eth_getBlockByNumber", [
        `0x${Number(meta!.block.number).toString(16)}`,
        false,
      ]);
      expect(meta!.block.hash).toBe(block.hash);
      expect(BigInt(meta!.block.timestamp)).toBe(BigInt(block.timestamp));
      expect(meta!.hasIndexingErrors).toBe(false);
      expect(Object.values(data._meta.status)[0]!.id).toBe(ledger.meta.chainId);
    });

    it("keeps hostile arguments inside the limits: a clear error or an answer, never a 5xx", async () => {
      let deep = '{ status: "settled" }';
      for (let i = 0; i < 6; i++) deep = `{ shares_some: { invoice_: ${deep} } }`;
      expect(await refused(`{ invoices(where: ${deep}) { totalCount } }`)).toMatch(/Relation filter depth limit of 4/);
      const columns = "chainId invoiceId caller modelId agentId provider holder status amount";
      expect(await refused(`{ invoiceAggregate(groupBy: [${columns}]) { count } }`)).toMatch(
        /groupBy limit of 8 columns/,
      );
      const wide = await ok<{ invoiceAggregate: unknown[] }>(
        `{ invoiceAggregate(groupBy: [invoiceId caller modelId agentId provider holder status amount], interval: hour, limit: 1000) { count sum { amount paid tax } avg { latencyMs } } }`,
      );
      expect(wide.invoiceAggregate.length).toBe(Math.min(1000, INVOICES));
      expect(await refused("{ activityAggregate(groupBy: [id], limit: 5000) { count } }")).toMatch(/limit.*1000/);
      expect(await refused('{ invoices(orderBy: "nope; DROP TABLE invoice") { totalCount } }')).toMatch(
        /Unknown column/,
      );
      expect(await refused('{ invoices(orderBy: "shares__position") { totalCount } }')).toMatch(
        /not a to-one relation/,
      );
      const cursorOfOtherOrder = (
        await ok<{ invoices: Page<unknown> }>('{ invoices(orderBy: "amount", limit: 1) { pageInfo { endCursor } } }')
      ).invoices.pageInfo.endCursor;
      expect(
        await refused('query ($c: String) { invoices(orderBy: "paid", after: $c) { totalCount } }', {
          c: cursorOfOtherOrder,
        }),
      ).toMatch(/Invalid cursor: it was made for the order/);
      const everything = await ok<{ activityAggregate: { count: number }[] }>(
        "{ activityAggregate(groupBy: [type], interval: week, limit: 1000) { count sum { amount } max { amount } } }",
      );
      expect(everything.activityAggregate.reduce((sum, g) => sum + g.count, 0)).toBeGreaterThan(INVOICES);
    });

    it.runIf(database === "postgres")(
      "cancels a statement over GRAPHQL_STATEMENT_TIMEOUT_MS (GraphQL and /sql) with an error naming the limit, and keeps serving",
      async () => {
        // Another API process (ponder serve) on the same schema, with its own statement timeout.
        const serveWithTimeout = async (ms: string) => {
          const serve = await startPonder(
            { DEPLOYMENT_FILE: chain.deploymentFile, DATABASE_URL: postgres!.url, GRAPHQL_STATEMENT_TIMEOUT_MS: ms },
            { command: "serve" },
          );
          await serve.waitForBlock(chain.head);
          return serve;
        };
        const strict = await serveWithTimeout("1");
        try {
          const heavy = await strict.graphql(
            "{ activityAggregate(groupBy: [id, txHash, account, counterparty, type, amount, invoiceId, bundleId], interval: hour, limit: 1000) { count sum { amount } avg { amount logIndex } } }",
          );
          expect(heavy.errors?.[0]?.message).toMatch(
            /Statement timeout of 1 ms exceeded \(GRAPHQL_STATEMENT_TIMEOUT_MS\)/,
          );

          const simple = await ponder.graphql<{ invoices: { totalCount: number } }>("{ invoices { totalCount } }");
          expect(simple.data?.invoices.totalCount).toBe(INVOICES);
        } finally {
          await strict.stop();
        }
        // From 1 s up the limit is a setting of the API's connections (no transaction per statement),
        // which /sql shares: a heavy /sql query is cancelled by it too, where Ponder alone allows 30 s
        // (Ponder then retries it, cancelled each time, for about a minute: the first failure is enough).
        const second = await serveWithTimeout("1000");
        try {
          const json = {
            sql: "select count(*) from activity a cross join activity b cross join activity c where a.amount < b.amount + c.amount",
            params: [],
          };
          const abort = new AbortController();
          const heavy = fetch(`${second.url}/sql/db?sql=${encodeURIComponent(JSON.stringify({ json }))}`, {
            signal: abort.signal,
          }).catch(() => undefined);
          await second.waitForLog(/canceling statement due to statement timeout/, 20_000);
          abort.abort();
          await heavy;
          const simple = await second.graphql<{ invoices: { totalCount: number } }>("{ invoices { totalCount } }");
          expect(simple.data?.invoices.totalCount).toBe(INVOICES);
        } finally {
          // Killed, not stopped: a stop would wait for Ponder's retries of the cancelled query (a minute).
          await killProcess(second.process);
        }
      },
    );

    it("serves the query page from the API itself, with no outside host", async () => {
      const response = await fetch(`${ponder.url}/graphql`);
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toMatch(/<textarea id="query"/);
      expect(html).not.toMatch(/https?:\/\//);
    });

    it("runs every example of docs/graphql.md", async () => {
      const examples = docsExamples();
      expect(examples.length).toBeGreaterThanOrEqual(8);
      const variables = {
        contributor: invoices()
          .find((i) => i.shares.length > 0)!
          .shares[0]!.contributor.toLowerCase(),
        chainId: ledger.meta.chainId,
      };
      for (const example of examples) {
        const answer = await ponder.graphql(example.query, variables);
        expect(answer.errors, example.name).toBeUndefined();
        expect(JSON.stringify(answer.data), example.name).not.toMatch(/^\{\}$/);
      }
    });
  });
}
