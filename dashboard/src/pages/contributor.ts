/**
 * The account page's contributor tab: what the account earned by role over time, its invoices as
 * contributor (invoiceContributor: one row per invoice, filterable by status), its payouts, and a
 * statement of a chosen period to download (GET /statements/:address, CSV).
 */
import { shownChainId } from "../chain.js";
import { rolePeriods } from "../charts.js";
import { card, cards, dataTable, h, message, openAmount, section, statusBadge } from "../dom.js";
import { dayLabel, formatCount, type Interval, parseDay, ROLES, roleName, SECONDS_PER_DAY } from "../format.js";
import { fetchAll, graphql } from "../graphql.js";
import { pagedTable } from "../paged.js";
import { hrefWith, intervalControls, type Route, readInterval } from "../route.js";

const STATUSES = ["issued", "scheduled", "settled", "voided"] as const;
const CONTRIBUTIONS_PER_PAGE = 25;
/** A statement covers at most 366 days (src/api/statement-core.ts). */
const STATEMENT_MAX_DAYS = 366;

type ContributorAccount = {
  invoicesAsContributor: number;
  earnedAsTreasury: string;
  earnedAsDataProvider: string;
  earnedAsModelOptimizer: string;
  earnedAsRouter: string;
  earnedAsHolder: string;
};
const EARNED_BY_ROLE = [
  "earnedAsTreasury",
  "earnedAsDataProvider",
  "earnedAsModelOptimizer",
  "earnedAsRouter",
  "earnedAsHolder",
] as const;

type ContributionRow = {
  invoiceId: string;
  shares: number;
  shareBps: number;
  credited: string | null;
  modelId: string;
  status: string;
  issuedAt: string;
  settledAt: string | null;
};

type PayoutRow = {
  id: string;
  invoiceId: string;
  role: number;
  amount: string;
  shareBps: number | null;
  modelId: string | null;
  timestamp: string;
  txHash: string;
};

type EarningsDay = { role: number; day: number; amount: string };

/** The sections of the contributor tab of `address`'s page. */
export async function contributorTab(address: string, route: Route): Promise<(Node | null)[]> {
  const statusParam = route.query.get("status") ?? "";
  const status = (STATUSES as readonly string[]).includes(statusParam) ? statusParam : undefined;
  const interval = readInterval(route);
  const [{ account, last }, earnings, payouts] = await Promise.all([
    graphql<{ account: ContributorAccount | null; last: { items: { day: number }[] } }>(
      `query ($chainId: Float!, $chain: Int!, $address: String!) {
        account(chainId: $chainId, address: $address) { invoicesAsContributor ${EARNED_BY_ROLE.join(" ")} }
        last: protocolDailys(where: { chainId: $chain }, orderBy: "day", orderDirection: "desc", limit: 1) { items { day } }
      }`,
      { address },
    ),
    fetchAll<EarningsDay>("earningsDaily", "role day amount", { where: { account: address }, orderBy: "day" }),
    fetchAll<PayoutRow>("payout", "id invoiceId role amount shareBps modelId timestamp txHash", {
      where: { account: address },
      orderBy: "id",
      orderDirection: "desc",
    }),
  ]);
  const pathName = `account/${address}`;

  return [
    cards(
      card(
        "invoicesAsContributor",
        "Invoices as contributor",
        formatCount(account?.invoicesAsContributor ?? 0),
        "an invoice naming it twice counts once",
      ),
      ...ROLES.map((role) =>
        card(`earnedAs-${role}`, roleName(role), openAmount(account?.[EARNED_BY_ROLE[role]] ?? "0")),
      ),
    ),
    section("Earned by role over time", ...earningsOverTime(pathName, route, earnings, interval)),
    section(
      "Invoices as contributor",
      h(
        "nav",
        { class: "tabs", "aria-label": "Status" },
        [undefined, ...STATUSES].map((s) =>
          h(
            "a",
            {
              href: hrefWith(pathName, route.query, { status: s }),
              class: s === status ? "active" : undefined,
              "data-status": s ?? "all",
            },
            s ?? "All",
          ),
        ),
      ),
      await pagedTable<ContributionRow>({
        name: "contributor-invoices",
        table: "invoiceContributor",
        fields: "invoiceId shares shareBps credited modelId status issuedAt settledAt",
        where: { chainId: shownChainId(), contributor: address, ...(status ? { status } : {}) },
        orderBy: "invoiceId",
        orderDirection: "desc",
        perPage: CONTRIBUTIONS_PER_PAGE,
        noun: "invoices",
        empty: status ? `No ${status} invoice names this account.` : "No invoice names this account as contributor.",
        previousLabel: "← Newer",
        nextLabel: "Older →",
        columns: [
          { label: "Invoice", kind: "invoice", value: (row) => row.invoiceId },
          { label: "Status", kind: "text", value: (row) => row.status, cell: (row) => statusBadge(row.status) },
          { label: "Model", kind: "model", value: (row) => row.modelId },
          { label: "Shares", kind: "count", value: (row) => row.shares },
          { label: "Share", kind: "bps", value: (row) => row.shareBps },
          { label: "Credited", kind: "open", value: (row) => row.credited },
          { label: "Issued", kind: "time", value: (row) => row.issuedAt },
          { label: "Settled", kind: "time", value: (row) => row.settledAt },
        ],
      }),
    ),
    section(
      "Payouts",
      dataTable<PayoutRow>({
        name: "contributor-payouts",
        rows: payouts,
        limit: 20,
        empty: "No payout to this account.",
        columns: [
          { label: "Time", kind: "time", value: (row) => row.timestamp },
          { label: "Invoice", kind: "invoice", value: (row) => row.invoiceId },
          { label: "Role", kind: "text", value: (row) => roleName(row.role) },
          { label: "Share", kind: "bps", value: (row) => row.shareBps },
          { label: "Model", kind: "model", value: (row) => row.modelId },
          { label: "Amount", kind: "open", value: (row) => row.amount },
          { label: "Transaction", kind: "hex", value: (row) => row.txHash },
        ],
      }),
    ),
    section("Statement", statementForm(address, earnings[0]?.day, last.items[0]?.day)),
  ];
}

/** The interval switch, a chart stacked by role and a table of the periods, from the account's earningsDaily rows. */
function earningsOverTime(pathName: string, route: Route, earnings: EarningsDay[], interval: Interval): Node[] {
  if (earnings.length === 0) return [message("info", "Nothing credited to this account yet.")];
  const days = earnings.map((row) => row.day);
  const { chart, table } = rolePeriods(
    { chart: "contributor-earnings", table: `contributor-earnings-${interval}` },
    earnings,
    { from: Math.min(...days), to: Math.max(...days) },
    interval,
  );
  return [intervalControls(pathName, route), chart, table];
}

/**
 * Two dates (UTC days, inclusive) and the links to the statement of that period: [from 00:00, the day after
 * `to` 00:00) in unix seconds. By default the account's first credited day to the last indexed day, at most
 * 366 days.
 */
function statementForm(address: string, firstDay: number | undefined, lastDay: number | undefined): HTMLElement {
  const today = Math.floor(Date.now() / 1000 / SECONDS_PER_DAY);
  const to = lastDay ?? today;
  const from = Math.max(firstDay ?? to, to - STATEMENT_MAX_DAYS + 1);
  const fromInput = h("input", { type: "date", name: "statement-from", value: dayLabel(from) });
  const toInput = h("input", { type: "date", name: "statement-to", value: dayLabel(to) });
  const csvLink = h("a", { class: "button", "data-statement": "csv" }, "Download statement (CSV)");
  const jsonLink = h("a", { "data-statement": "json", target: "_blank", rel: "noopener" }, "JSON");
  const problem = h("p", { class: "muted statement-problem", role: "status" });

  const update = () => {
    const start = parseDay(fromInput.value);
    const end = parseDay(toInput.value);
    const error =
      start === undefined || end === undefined
        ? "Choose two dates."
        : start > end
          ? "The period starts after it ends."
          : end - start + 1 > STATEMENT_MAX_DAYS
            ? `A statement covers at most ${STATEMENT_MAX_DAYS} days.`
            : undefined;
    problem.textContent = error ?? "";
    for (const link of [csvLink, jsonLink]) {
      if (error || start === undefined || end === undefined) {
        link.removeAttribute("href");
        continue;
      }
      const format = link.dataset.statement as string;
      const params = new URLSearchParams({
        from: String(start * SECONDS_PER_DAY),
        to: String((end + 1) * SECONDS_PER_DAY),
        format,
        chainId: String(shownChainId()),
      });
      link.href = new URL(`../statements/${address}?${params}`, window.location.href).toString();
      // The server names the file (Content-Disposition).
      if (format === "csv") link.download = "";
    }
  };
  fromInput.addEventListener("input", update);
  toInput.addEventListener("input", update);
  update();
  return h(
    "div",
    { class: "statement" },
    h(
      "p",
      {},
      "The opening balance, every credit (payouts, and the tax while the account was the treasury) and claim, and the closing balance of the days chosen (UTC, inclusive). Amounts are exact OPEN.",
    ),
    h("div", { class: "range" }, h("label", {}, "From ", fromInput), h("label", {}, "to ", toInput), csvLink, jsonLink),
    problem,
  );
}
