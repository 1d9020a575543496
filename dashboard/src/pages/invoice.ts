/** An invoice's whole story: parties, service measured, provenance, terms, shares, transfers, settlement, payouts. */
import {
  accountLink,
  dataTable,
  facts,
  h,
  hexLabel,
  invoiceHref,
  message,
  modelLink,
  openAmount,
  section,
  statusBadge,
} from "../dom.js";
import { formatCount, parseInvoiceId, roleName, slashReasonName, timeLabel, voidReasonName } from "../format.js";
import { graphql } from "../graphql.js";
import type { Route } from "../route.js";
import { datanetLink, datasetLink } from "./datasets.js";

type Items<T> = { items: T[] };

type InvoiceStory = {
  invoiceId: string;
  caller: string;
  modelId: string;
  agentId: string;
  provider: string;
  holder: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  sloLatencyMs: number;
  sloMet: boolean;
  modelVersion: string | null;
  trainingLogHash: string | null;
  amount: string;
  feeMultiplierBps: number;
  taxRateBps: number;
  penaltyBps: number;
  providerStake: string;
  dueAt: string;
  status: string;
  voidReason: number | null;
  payer: string | null;
  settleAt: string | null;
  paid: string | null;
  tax: string | null;
  refund: string | null;
  distributed: string | null;
  holderCredited: string | null;
  bundleId: string | null;
  issuedAt: string;
  settledAt: string | null;
  blockNumber: string;
  txHash: string;
  bundle: { bundleId: string; name: string; owner: string; memberCount: number; dissolved: boolean } | null;
  shares: Items<{ position: number; contributor: string; role: number; shareBps: number; credited: string | null }>;
  datasets: Items<{ position: number; datasetHash: string; datanetId: string; version: number }>;
  transfers: Items<{
    id: string;
    from: string;
    to: string;
    bundleId: string | null;
    timestamp: string;
    txHash: string;
  }>;
  payouts: Items<{ id: string; account: string; role: number; amount: string; timestamp: string; txHash: string }>;
  slashes: Items<{ id: string; staker: string; reason: number; amount: string; timestamp: string; txHash: string }>;
  activity: Items<{
    id: string;
    type: string;
    account: string | null;
    counterparty: string | null;
    amount: string | null;
    timestamp: string;
    txHash: string;
  }>;
};

const STORY_QUERY = `query ($chainId: Float!, $chain: Int!, $id: BigInt!) {
  invoice(chainId: $chainId, invoiceId: $id) {
    invoiceId caller modelId agentId provider holder inputTokens outputTokens latencyMs sloLatencyMs sloMet
    modelVersion trainingLogHash amount feeMultiplierBps taxRateBps penaltyBps providerStake dueAt
    status voidReason payer settleAt paid tax refund distributed holderCredited bundleId issuedAt settledAt
    blockNumber txHash
    bundle { bundleId name owner memberCount dissolved }
    shares(orderBy: "position", limit: 1000) { items { position contributor role shareBps credited } }
    datasets(orderBy: "position", limit: 1000) { items { position datasetHash datanetId version } }
    transfers(orderBy: "id", limit: 1000) { items { id from to bundleId timestamp txHash } }
    payouts(orderBy: "id", limit: 1000) { items { id account role amount timestamp txHash } }
    slashes(orderBy: "id", limit: 1000) { items { id staker reason amount timestamp txHash } }
    activity(orderBy: "id", limit: 1000) { items { id type account counterparty amount timestamp txHash } }
  }
  newest: invoices(where: { chainId: $chain }, orderBy: "invoiceId", orderDirection: "desc", limit: 1) { items { invoiceId } }
}`;

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
const optionalTime = (seconds: string | null) =>
  seconds === null || seconds === "0" ? "–" : timeLabel(BigInt(seconds));
const percentOfBps = (bps: number) => `${(bps / 100).toFixed(2)} %`;

export async function invoicePage(route: Route): Promise<(Node | null)[]> {
  const raw = route.path[1] ?? "";
  const id = parseInvoiceId(raw);
  if (typeof id !== "string") return [h("h1", {}, "Invoice"), message("error", id.message)];
  const { invoice, newest } = await graphql<{ invoice: InvoiceStory | null; newest: Items<{ invoiceId: string }> }>(
    STORY_QUERY,
    { id },
  );
  if (!invoice) {
    const last = newest.items[0]?.invoiceId;
    return [
      h("h1", {}, `Invoice #${id}`),
      message(
        "error",
        last
          ? `Invoice #${id} does not exist: ids run from #1 to #${last} on this chain.`
          : `Invoice #${id} does not exist: no invoice is indexed yet.`,
      ),
    ];
  }
  const i = invoice;
  const settled = i.status === "settled";
  const previous =
    BigInt(i.invoiceId) > 1n ? h("a", { href: invoiceHref(BigInt(i.invoiceId) - 1n) }, "← Previous") : null;
  const next =
    newest.items[0] && BigInt(newest.items[0].invoiceId) > BigInt(i.invoiceId)
      ? h("a", { href: invoiceHref(BigInt(i.invoiceId) + 1n) }, "Next →")
      : null;

  return [
    h(
      "h1",
      { "data-invoice": i.invoiceId },
      `Invoice #${i.invoiceId} `,
      statusBadge(i.status),
      h("span", { class: "pager" }, previous, next),
    ),
    h(
      "div",
      { class: "grid-2" },
      section(
        "Parties",
        facts([
          ["Caller", accountLink(i.caller)],
          ["Provider", accountLink(i.provider)],
          ["Holder", accountLink(i.holder)],
          ["Model", modelLink(i.modelId)],
          ["Agent", i.agentId === `0x${"0".repeat(64)}` ? "none" : hexLabel(i.agentId)],
          ["Payer", i.payer ? accountLink(i.payer) : "–"],
          [
            "Bundle",
            i.bundle
              ? `#${i.bundle.bundleId} “${i.bundle.name}” (${i.bundle.memberCount} invoices${i.bundle.dissolved ? ", dissolved" : ""})`
              : "none",
          ],
        ]),
      ),
      section(
        "Service measured",
        facts([
          ["Input tokens", formatCount(i.inputTokens)],
          ["Output tokens", formatCount(i.outputTokens)],
          ["Latency", `${formatCount(i.latencyMs)} ms`],
          ["SLO latency", `${formatCount(i.sloLatencyMs)} ms`],
          ["SLO", h("span", { class: i.sloMet ? "good" : "bad" }, i.sloMet ? "met" : "breached")],
          ["Issued", `${timeLabel(BigInt(i.issuedAt))} (block ${formatCount(BigInt(i.blockNumber))})`],
          ["Issuance transaction", hexLabel(i.txHash)],
        ]),
      ),
      section(
        "Pricing terms",
        facts([
          ["Amount", h("span", {}, openAmount(i.amount), " OPEN")],
          ["Fee multiplier", percentOfBps(i.feeMultiplierBps)],
          ["Protocol tax", percentOfBps(i.taxRateBps)],
          ["Penalty on an SLO breach", percentOfBps(i.penaltyBps)],
          ["Provider's stake at issuance", h("span", {}, openAmount(i.providerStake), " OPEN")],
          ["Due", optionalTime(i.dueAt)],
        ]),
      ),
      section(
        "Settlement",
        facts([
          ["Status", statusBadge(i.status)],
          ...(i.voidReason !== null ? [["Void reason", voidReasonName(i.voidReason)] as [string, string]] : []),
          ["Scheduled for", optionalTime(i.settleAt)],
          ["Settled", optionalTime(i.settledAt)],
          ["Paid", openAmount(i.paid)],
          ["Refund", openAmount(i.refund)],
          ["Tax", openAmount(i.tax)],
          ["Distributed", openAmount(i.distributed)],
          ["Holder's payout", openAmount(i.holderCredited)],
        ]),
        settled ? settlementCheck(i) : null,
      ),
    ),
    section(
      "Provenance",
      facts([
        ["Model version", hexLabel(i.modelVersion)],
        ["Training log", hexLabel(i.trainingLogHash)],
      ]),
      dataTable({
        name: "invoice-datasets",
        rows: i.datasets.items,
        empty: "No dataset listed.",
        columns: [
          { label: "Position", kind: "count", value: (d) => d.position },
          { label: "Dataset", kind: "hex", value: (d) => d.datasetHash, cell: (d) => datasetLink(d.datasetHash) },
          { label: "Datanet", kind: "text", value: (d) => d.datanetId, cell: (d) => datanetLink(d.datanetId) },
          { label: "Version", kind: "count", value: (d) => d.version },
        ],
      }),
    ),
    section(
      "Revenue shares",
      dataTable({
        name: "invoice-shares",
        rows: i.shares.items,
        empty: "No share: the holder receives everything after tax.",
        columns: [
          { label: "Position", kind: "count", value: (s) => s.position },
          { label: "Contributor", kind: "account", value: (s) => s.contributor },
          { label: "Role", kind: "text", value: (s) => roleName(s.role) },
          { label: "Share", kind: "bps", value: (s) => s.shareBps },
          { label: "Credited", kind: "open", value: (s) => s.credited },
        ],
      }),
    ),
    section(
      "Payouts",
      dataTable({
        name: "invoice-payouts",
        rows: i.payouts.items,
        empty: settled ? "No payout." : "Not settled: no payout yet.",
        columns: [
          { label: "Time", kind: "time", value: (p) => p.timestamp },
          { label: "Account", kind: "account", value: (p) => p.account },
          { label: "Role", kind: "text", value: (p) => roleName(p.role) },
          { label: "Amount", kind: "open", value: (p) => p.amount },
          { label: "Transaction", kind: "hex", value: (p) => p.txHash },
        ],
      }),
    ),
    section(
      "Transfers",
      dataTable({
        name: "invoice-transfers",
        rows: i.transfers.items,
        empty: "No transfer.",
        columns: [
          { label: "Time", kind: "time", value: (t) => t.timestamp },
          {
            label: "From",
            kind: "account",
            value: (t) => t.from,
            cell: (t) => (t.from === ZERO_ADDRESS ? h("span", { class: "muted" }, "minted") : accountLink(t.from)),
          },
          { label: "To", kind: "account", value: (t) => t.to },
          { label: "With bundle", kind: "text", value: (t) => (t.bundleId ? `#${t.bundleId}` : null) },
          { label: "Transaction", kind: "hex", value: (t) => t.txHash },
        ],
      }),
    ),
    section(
      "Slashes",
      dataTable({
        name: "invoice-slashes",
        rows: i.slashes.items,
        empty: "No slash for this invoice.",
        columns: [
          { label: "Time", kind: "time", value: (s) => s.timestamp },
          { label: "Staker", kind: "account", value: (s) => s.staker },
          { label: "Reason", kind: "text", value: (s) => slashReasonName(s.reason) },
          { label: "Amount", kind: "open", value: (s) => s.amount },
          { label: "Transaction", kind: "hex", value: (s) => s.txHash },
        ],
      }),
    ),
    section(
      "Timeline",
      dataTable({
        name: "invoice-activity",
        rows: i.activity.items,
        limit: 100,
        empty: "No event.",
        columns: [
          { label: "Time", kind: "time", value: (a) => a.timestamp },
          { label: "Event", kind: "text", value: (a) => a.type },
          { label: "Account", kind: "account", value: (a) => a.account },
          { label: "Counterparty", kind: "account", value: (a) => a.counterparty },
          { label: "Amount", kind: "open", value: (a) => a.amount },
          { label: "Transaction", kind: "hex", value: (a) => a.txHash },
        ],
      }),
    ),
  ];
}

/** The SPEC's settlement identities, shown so a reader can trust (or question) the figures. */
function settlementCheck(i: InvoiceStory) {
  const [amount, paid, refund, tax, distributed] = [i.amount, i.paid, i.refund, i.tax, i.distributed].map((v) =>
    BigInt(v ?? 0),
  );
  const payouts = i.payouts.items.reduce((sum, p) => sum + BigInt(p.amount), 0n);
  const checks: [string, boolean][] = [
    ["paid + refund = amount", paid + refund === amount],
    ["tax + distributed = paid", tax + distributed === paid],
    ["payouts add up to distributed", payouts === distributed],
  ];
  return h(
    "ul",
    { class: "checks" },
    checks.map(([label, ok]) => h("li", { class: ok ? "good" : "bad" }, `${ok ? "✓" : "✗"} ${label}`)),
  );
}
