import { createClient } from "@ponder/client";
import { type Address, createPublicClient, http } from "viem";
import { InvoiceRegistryAbi } from "../../abis/InvoiceRegistry.js";
import { SettlementEngineAbi } from "../../abis/SettlementEngine.js";
import { StakeManagerAbi } from "../../abis/StakeManager.js";
import type { Deployment } from "../../config/deployment.js";
import * as schema from "../../ponder.schema.js";
import type { Ledger } from "../../scripts/simulator/ledger.js";

type Row = Record<string, unknown>;

/** A value as the ledger writes it: bigints and ids as decimal strings, hex lowercase, null for absent. */
function normalize(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  // The ledger writes small integers as numbers and the indexer stores some as bigint: compare as text.
  if (typeof value === "bigint" || typeof value === "number") return value.toString();
  if (typeof value === "string" && value.startsWith("0x")) return value.toLowerCase();
  if (Array.isArray(value)) return value.map(normalize);
  return value;
}

/** Collects differences instead of failing at the first, so a failing run shows the whole picture. */
export class Mismatches {
  readonly items: string[] = [];
  check(where: string, expected: Row, actual: Row | undefined, fields: string[]) {
    if (!actual) {
      this.items.push(`${where}: missing row`);
      return;
    }
    for (const field of fields) {
      const want = normalize(expected[field]);
      const got = normalize(actual[field]);
      if (JSON.stringify(want) !== JSON.stringify(got)) {
        this.items.push(`${where}.${field}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      }
    }
  }
  count(where: string, expected: number, actual: number) {
    if (expected !== actual) this.items.push(`${where}: expected ${expected} rows, got ${actual}`);
  }
  add(message: string) {
    this.items.push(message);
  }
}

/**
 * Every indexed table, read over HTTP through the indexer's own read-only SQL endpoint; with
 * `chainId`, only that chain's rows (an indexer of several chains, compared chain by chain).
 */
export async function readTables(indexerUrl: string, chainId?: number) {
  const client = createClient(`${indexerUrl}/sql`, { schema });
  const all = async (table: unknown) => {
    const rows = (await client.db.select().from(table as never)) as Row[];
    return chainId === undefined ? rows : rows.filter((row) => row.chainId === chainId);
  };
  return {
    account: await all(schema.account),
    model: await all(schema.model),
    invoice: await all(schema.invoice),
    invoiceShare: await all(schema.invoiceShare),
    invoiceContributor: await all(schema.invoiceContributor),
    datasetUse: await all(schema.datasetUse),
    dataset: await all(schema.dataset),
    datanet: await all(schema.datanet),
    invoiceTransfer: await all(schema.invoiceTransfer),
    bundle: await all(schema.bundle),
    payout: await all(schema.payout),
    claim: await all(schema.claim),
    stakeChange: await all(schema.stakeChange),
    unstakeRequest: await all(schema.unstakeRequest),
    slash: await all(schema.slash),
    activity: await all(schema.activity),
    earningsDaily: await all(schema.earningsDaily),
    modelDaily: await all(schema.modelDaily),
    protocolDaily: await all(schema.protocolDaily),
    datasetDaily: await all(schema.datasetDaily),
    datanetDaily: await all(schema.datanetDaily),
    anomaly: await all(schema.anomaly),
  };
}
export type Tables = Awaited<ReturnType<typeof readTables>>;

const byKey = (rows: Row[], key: (row: Row) => string) => new Map(rows.map((row) => [key(row), row]));
const lower = (value: unknown) => String(value).toLowerCase();

const INVOICE_FIELDS = [
  "caller",
  "modelId",
  "agentId",
  "provider",
  "holder",
  "status",
  "amount",
  "feeMultiplierBps",
  "taxRateBps",
  "providerStake",
  "dueAt",
  "inputTokens",
  "outputTokens",
  "latencyMs",
  "sloLatencyMs",
  "penaltyBps",
  "sloMet",
  "modelVersion",
  "trainingLogHash",
  "payer",
  "settleAt",
  "paid",
  "tax",
  "refund",
  "distributed",
  "holderCredited",
  "bundleId",
  "issuedAt",
  "settledAt",
  "voidReason",
  "transferCount",
];
const ACCOUNT_FIELDS = [
  "spent",
  "earned",
  "claimed",
  "claimable",
  "stake",
  "pendingUnstake",
  "slashed",
  "invoicesAsCaller",
  "invoicesAsProvider",
  "invoicesAsContributor",
  "earnedAsTreasury",
  "earnedAsDataProvider",
  "earnedAsModelOptimizer",
  "earnedAsRouter",
  "earnedAsHolder",
];
/** The invoice's fields that its share and contributor rows carry (kept current). */
const CONTRIBUTOR_VIEW_FIELDS = ["modelId", "status", "issuedAt", "settledAt"];
const ATTRIBUTION_DAILY_FIELDS = ["invoices", "tokens", "attributed"];

/** Compares every table that matters with the simulator's ledger; returns the differences. */
export function compareWithLedger(tables: Tables, ledger: Ledger): string[] {
  const m = new Mismatches();

  const invoices = byKey(tables.invoice, (r) => String(r.invoiceId));
  m.count("invoice", Object.keys(ledger.invoices).length, tables.invoice.length);
  const shares = byKey(tables.invoiceShare, (r) => `${r.invoiceId}:${r.position}`);
  const datasetUses = byKey(tables.datasetUse, (r) => `${r.invoiceId}:${r.position}`);
  const contributors = byKey(tables.invoiceContributor, (r) => `${r.invoiceId}:${lower(r.contributor)}`);
  let shareCount = 0;
  let datasetUseCount = 0;
  let contributorCount = 0;
  for (const [id, expected] of Object.entries(ledger.invoices)) {
    const actual = invoices.get(id);
    m.check(`invoice ${id}`, expected as unknown as Row, actual, INVOICE_FIELDS);
    // One contributor row per (invoice, contributor), its shares summed: grouped here from the ledger.
    const byContributor = new Map<string, Row & { shares: number; shareBps: number; credited: bigint | null }>();
    expected.shares.forEach((share, position) => {
      m.check(`invoiceShare ${id}:${position}`, { ...expected, ...share }, shares.get(`${id}:${position}`), [
        "contributor",
        "role",
        "shareBps",
        "credited",
        ...CONTRIBUTOR_VIEW_FIELDS,
      ]);
      const group = byContributor.get(share.contributor) ?? { shares: 0, shareBps: 0, credited: null };
      group.shares++;
      group.shareBps += share.shareBps;
      if (share.credited !== null) group.credited = (group.credited ?? 0n) + BigInt(share.credited);
      byContributor.set(share.contributor, group);
    });
    for (const [contributor, group] of byContributor) {
      const key = `${id}:${contributor.toLowerCase()}`;
      m.check(`invoiceContributor ${key}`, { ...expected, ...group }, contributors.get(key), [
        "shares",
        "shareBps",
        "credited",
        ...CONTRIBUTOR_VIEW_FIELDS,
      ]);
    }
    expected.datasets.forEach((use, position) => {
      m.check(`datasetUse ${id}:${position}`, use, datasetUses.get(`${id}:${position}`), [
        "datasetHash",
        "datanetId",
        "version",
        "attributed",
      ]);
    });
    shareCount += expected.shares.length;
    datasetUseCount += expected.datasets.length;
    contributorCount += byContributor.size;
  }
  m.count("invoiceShare", shareCount, tables.invoiceShare.length);
  m.count("invoiceContributor", contributorCount, tables.invoiceContributor.length);
  m.count("datasetUse", datasetUseCount, tables.datasetUse.length);
  m.count(
    "invoiceTransfer (excluding mints)",
    Object.values(ledger.invoices).reduce((sum, invoice) => sum + invoice.transferCount, 0),
    tables.invoiceTransfer.filter((r) => lower(r.from) !== "0x0000000000000000000000000000000000000000").length,
  );

  const accounts = byKey(tables.account, (r) => lower(r.address));
  for (const [address, expected] of Object.entries(ledger.accounts)) {
    const actual = accounts.get(address.toLowerCase());
    // An account with nothing to show is the same as no row: the simulator knows some addresses
    // (for example a buyer who never bought) that no event names.
    const allZero = ACCOUNT_FIELDS.every((field) => String((expected as unknown as Row)[field]) === "0");
    if (!actual && allZero) continue;
    m.check(`account ${address}`, expected as unknown as Row, actual, ACCOUNT_FIELDS);
  }
  for (const row of tables.account) {
    if (ledger.accounts[lower(row.address) as `0x${string}`]) continue;
    const nonZero = ACCOUNT_FIELDS.filter((field) => String(row[field]) !== "0");
    if (nonZero.length > 0) m.add(`account ${row.address} is not in the ledger but has ${nonZero.join(", ")}`);
  }

  const models = byKey(tables.model, (r) => lower(r.modelId));
  m.count("model", Object.keys(ledger.models).length, tables.model.length);
  for (const [id, expected] of Object.entries(ledger.models)) {
    m.check(`model ${id}`, expected as unknown as Row, models.get(id.toLowerCase()), [
      "provider",
      "pricePerKToken",
      "sloLatencyMs",
      "penaltyBps",
      "invoices",
      "tokens",
      "gross",
      "sloMet",
    ]);
  }

  const datasets = byKey(tables.dataset, (r) => lower(r.datasetHash));
  m.count("dataset", Object.keys(ledger.datasets).length, tables.dataset.length);
  for (const [hash, expected] of Object.entries(ledger.datasets)) {
    m.check(`dataset ${hash}`, expected as unknown as Row, datasets.get(hash.toLowerCase()), [
      "datanetId",
      "version",
      "invoices",
      "tokens",
      "attributed",
    ]);
  }

  const datanets = byKey(tables.datanet, (r) => lower(r.datanetId));
  m.count("datanet", Object.keys(ledger.datanets).length, tables.datanet.length);
  for (const [id, expected] of Object.entries(ledger.datanets)) {
    m.check(`datanet ${id}`, expected as unknown as Row, datanets.get(id.toLowerCase()), [
      "datasetCount",
      ...ATTRIBUTION_DAILY_FIELDS,
    ]);
  }

  const datasetDaily = byKey(tables.datasetDaily, (r) => `${lower(r.datasetHash)}:${r.day}`);
  m.count("datasetDaily", Object.keys(ledger.datasetDaily).length, tables.datasetDaily.length);
  for (const expected of Object.values(ledger.datasetDaily)) {
    const key = `${expected.datasetHash.toLowerCase()}:${expected.day}`;
    m.check(`datasetDaily ${key}`, expected as unknown as Row, datasetDaily.get(key), ATTRIBUTION_DAILY_FIELDS);
  }
  const datanetDaily = byKey(tables.datanetDaily, (r) => `${lower(r.datanetId)}:${r.day}`);
  m.count("datanetDaily", Object.keys(ledger.datanetDaily).length, tables.datanetDaily.length);
  for (const expected of Object.values(ledger.datanetDaily)) {
    const key = `${expected.datanetId.toLowerCase()}:${expected.day}`;
    m.check(`datanetDaily ${key}`, expected as unknown as Row, datanetDaily.get(key), ATTRIBUTION_DAILY_FIELDS);
  }

  const bundles = byKey(tables.bundle, (r) => String(r.bundleId));
  m.count("bundle", Object.keys(ledger.bundles).length, tables.bundle.length);
  for (const [id, expected] of Object.entries(ledger.bundles)) {
    const actual = bundles.get(id);
    m.check(`bundle ${id}`, { ...expected, memberIds: expected.members }, actual, [
      "owner",
      "name",
      "memberIds",
      "memberCount",
      "faceValue",
      "outstanding",
      "earned",
      "dissolved",
    ]);
  }

  const requests = byKey(tables.unstakeRequest, (r) => String(r.requestId));
  m.count("unstakeRequest", Object.keys(ledger.unstakeRequests).length, tables.unstakeRequest.length);
  for (const [id, expected] of Object.entries(ledger.unstakeRequests)) {
    m.check(`unstakeRequest ${id}`, expected as unknown as Row, requests.get(id), [
      "staker",
      "amount",
      "amountLeft",
      "unlockAt",
      "status",
      "withdrawn",
    ]);
  }

  const slashes = byKey(tables.slash, (r) => `${lower(r.txHash)}:${r.logIndex}`);
  m.count("slash", ledger.slashes.length, tables.slash.length);
  for (const expected of ledger.slashes) {
    const key = `${expected.txHash.toLowerCase()}:${expected.logIndex}`;
    m.check(
      `slash ${key}`,
      { ...expected, invoiceId: expected.invoiceId === "0" ? null : expected.invoiceId },
      slashes.get(key),
      ["blockNumber", "staker", "invoiceId", "reason", "amount", "remainingStake", "evidence"],
    );
  }

  const stakeChanges = byKey(tables.stakeChange, (r) => `${lower(r.txHash)}:${r.logIndex}`);
  m.count("stakeChange", ledger.stakeChanges.length, tables.stakeChange.length);
  for (const expected of ledger.stakeChanges) {
    const key = `${expected.txHash.toLowerCase()}:${expected.logIndex}`;
    m.check(`stakeChange ${key}`, expected as unknown as Row, stakeChanges.get(key), [
      "blockNumber",
      "staker",
      "kind",
      "amount",
      "stakeAfter",
      "pendingAfter",
    ]);
  }

  const earnings = byKey(tables.earningsDaily, (r) => `${lower(r.account)}:${r.role}:${r.day}`);
  m.count("earningsDaily", Object.keys(ledger.earningsDaily).length, tables.earningsDaily.length);
  for (const expected of Object.values(ledger.earningsDaily)) {
    const key = `${expected.account.toLowerCase()}:${expected.role}:${expected.day}`;
    m.check(`earningsDaily ${key}`, expected as unknown as Row, earnings.get(key), ["amount", "payouts"]);
  }

  const modelDaily = byKey(tables.modelDaily, (r) => `${lower(r.modelId)}:${r.day}`);
  m.count("modelDaily", Object.keys(ledger.modelDaily).length, tables.modelDaily.length);
  for (const expected of Object.values(ledger.modelDaily)) {
    const key = `${expected.modelId.toLowerCase()}:${expected.day}`;
    m.check(`modelDaily ${key}`, expected as unknown as Row, modelDaily.get(key), [
      "invoices",
      "inputTokens",
      "outputTokens",
      "gross",
      "sloMet",
      "latencySum",
      "latencyMax",
      "settled",
      "paid",
      "refunds",
    ]);
  }

  const protocolDaily = byKey(tables.protocolDaily, (r) => String(r.day));
  m.count("protocolDaily", Object.keys(ledger.protocolDaily).length, tables.protocolDaily.length);
  for (const expected of Object.values(ledger.protocolDaily)) {
    m.check(`protocolDaily ${expected.day}`, expected as unknown as Row, protocolDaily.get(String(expected.day)), [
      "invoices",
      "gross",
      "settled",
      "paid",
      "tax",
      "refunds",
      "slashed",
      "unattributed",
    ]);
  }

  const totalEvents = Object.values(ledger.eventCounts).reduce((sum, n) => sum + n, 0);
  const ignored = ["Approval", "ApprovalForAll", "OwnershipTransferred"].reduce(
    (sum, name) => sum + (ledger.eventCounts[name] ?? 0),
    0,
  );
  m.count("activity (one per indexed event)", totalEvents - ignored, tables.activity.length);
  for (const anomaly of tables.anomaly) m.add(`unexpected anomaly ${anomaly.code}: ${anomaly.message}`);
  return m.items;
}

/** The SPEC's invariants, checked on the indexed rows alone. */
export function checkInvariants(tables: Tables): string[] {
  const m = new Mismatches();
  const payoutsByInvoice = new Map<string, bigint>();
  for (const payout of tables.payout) {
    const id = String(payout.invoiceId);
    payoutsByInvoice.set(id, (payoutsByInvoice.get(id) ?? 0n) + BigInt(payout.amount as bigint));
  }
  for (const invoice of tables.invoice) {
    if (invoice.status !== "settled") continue;
    const [amount, paid, refund, tax, distributed] = ["amount", "paid", "refund", "tax", "distributed"].map((f) =>
      BigInt(invoice[f] as bigint),
    );
    if (paid + refund !== amount) m.add(`invoice ${invoice.invoiceId}: paid + refund != amount`);
    if (tax + distributed !== paid) m.add(`invoice ${invoice.invoiceId}: tax + distributed != paid`);
    const payouts = payoutsByInvoice.get(String(invoice.invoiceId)) ?? 0n;
    if (payouts !== distributed)
      m.add(`invoice ${invoice.invoiceId}: payouts ${payouts} != distributed ${distributed}`);
  }
  for (const account of tables.account) {
    const [earned, claimed, claimable] = ["earned", "claimed", "claimable"].map((f) => BigInt(account[f] as bigint));
    if (claimable !== earned - claimed) m.add(`account ${account.address}: claimable != earned - claimed`);
    const byRole = ["Treasury", "DataProvider", "ModelOptimizer", "Router", "Holder"].reduce(
      (sum, role) => sum + BigInt(account[`earnedAs${role}`] as bigint),
      0n,
    );
    if (byRole !== earned) m.add(`account ${account.address}: earned by role ${byRole} != earned ${earned}`);
  }
  return m.items;
}

/** Compares indexed rows with the contracts' own views: stakeOf, claimable and ownerOf. */
export async function compareWithContracts(tables: Tables, deployment: Deployment): Promise<string[]> {
  const m = new Mismatches();
  const client = createPublicClient({ transport: http(deployment.rpcUrl, { batch: { batchSize: 500 } }) });
  await Promise.all(
    tables.account.map(async (account) => {
      const address = account.address as Address;
      const [stake, claimable] = await Promise.all([
        client.readContract({
          address: deployment.contracts.StakeManager,
          abi: StakeManagerAbi,
          functionName: "stakeOf",
          args: [address],
        }),
        client.readContract({
          address: deployment.contracts.SettlementEngine,
          abi: SettlementEngineAbi,
          functionName: "claimable",
          args: [address],
        }),
      ]);
      m.check(`account ${address} vs contracts`, { stake, claimable }, account, ["stake", "claimable"]);
    }),
  );
  await Promise.all(
    tables.invoice.map(async (invoice) => {
      const owner = await client.readContract({
        address: deployment.contracts.InvoiceRegistry,
        abi: InvoiceRegistryAbi,
        functionName: "ownerOf",
        args: [BigInt(invoice.invoiceId as bigint)],
      });
      m.check(`invoice ${invoice.invoiceId} vs ownerOf`, { holder: owner }, invoice, ["holder"]);
    }),
  );
  return m.items;
}
