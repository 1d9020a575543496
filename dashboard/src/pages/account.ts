/** An account: its totals, its invoices (cursor paging), earnings, claims, stake history and slashes. */
import { shownChainId } from "../chain.js";
import { dailyChart } from "../charts.js";
import { card, cards, dataTable, h, message, openAmount, section, statusBadge } from "../dom.js";
import { compactOpen, formatCount, isAddress, openFloat, ROLES, roleName, slashReasonName } from "../format.js";
import { fetchAll, graphql } from "../graphql.js";
import { pagedTable } from "../paged.js";
import { hrefWith, type Route } from "../route.js";
import { contributorTab } from "./contributor.js";

type AccountRow = {
  address: string;
  spent: string;
  earned: string;
  claimed: string;
  claimable: string;
  stake: string;
  pendingUnstake: string;
  slashed: string;
};

type InvoiceListRow = {
  invoiceId: string;
  status: string;
  caller: string;
  provider: string;
  holder: string;
  modelId: string;
  amount: string;
  paid: string | null;
  issuedAt: string;
  settledAt: string | null;
};

type StakeChangeRow = {
  id: string;
  kind: string;
  amount: string;
  stakeAfter: string;
  pendingAfter: string;
  requestId: string | null;
  timestamp: string;
  blockNumber: string;
  txHash: string;
};

const INVOICES_PER_PAGE = 25;
const INVOICE_ROLES = ["any", "caller", "provider", "holder"] as const;
type InvoiceRole = (typeof INVOICE_ROLES)[number];

const invoiceFilter = (address: string, role: InvoiceRole) => ({
  chainId: shownChainId(),
  ...(role === "any" ? { OR: [{ caller: address }, { provider: address }, { holder: address }] } : { [role]: address }),
});

export async function accountPage(route: Route): Promise<(Node | null)[]> {
  const raw = route.path[1] ?? "";
  if (!isAddress(raw)) {
    return [
      h("h1", {}, "Account"),
      message("error", `“${raw}” is not an address: an address is 0x followed by 40 hex digits.`),
    ];
  }
  const address = raw.toLowerCase();
  const roleParam = route.query.get("role") ?? "any";
  const role: InvoiceRole = (INVOICE_ROLES as readonly string[]).includes(roleParam)
    ? (roleParam as InvoiceRole)
    : "any";
  const { account, any, caller, provider, holder } = await graphql<{
    account: AccountRow | null;
    any: { totalCount: number };
    caller: { totalCount: number };
    provider: { totalCount: number };
    holder: { totalCount: number };
  }>(
    `query ($chainId: Float!, $chain: Int!, $address: String!, $any: invoiceFilter) {
      account(chainId: $chainId, address: $address) { address spent earned claimed claimable stake pendingUnstake slashed }
      any: invoices(where: $any, limit: 1) { totalCount }
      caller: invoices(where: { chainId: $chain, caller: $address }, limit: 1) { totalCount }
      provider: invoices(where: { chainId: $chain, provider: $address }, limit: 1) { totalCount }
      holder: invoices(where: { chainId: $chain, holder: $address }, limit: 1) { totalCount }
    }`,
    { address, any: invoiceFilter(address, "any") },
  );
  const zero = "0";
  if (!account && any.totalCount === 0) {
    return [
      h("h1", {}, "Account"),
      message(
        "error",
        `No account ${address} in the index: it has not called, served, held, earned, claimed or staked anything on this chain.`,
      ),
    ];
  }

  // Without invoices as caller, provider or holder, a contributor's page opens on its contributor tab.
  const tab = route.query.get("tab") ?? (any.totalCount === 0 && account ? "contributor" : "activity");
  const header = [
    h("h1", {}, "Account ", h("span", { class: "mono address", "data-address": address }, address)),
    account ? null : message("info", "This address has invoices but no account totals yet."),
    cards(
      card("earned", "Earned (OPEN)", openAmount(account?.earned ?? zero)),
      card("claimed", "Claimed (OPEN)", openAmount(account?.claimed ?? zero)),
      card("claimable", "Claimable (OPEN)", openAmount(account?.claimable ?? zero)),
      card("spent", "Spent as caller (OPEN)", openAmount(account?.spent ?? zero)),
      card("stake", "Active stake (OPEN)", openAmount(account?.stake ?? zero)),
      card("pendingUnstake", "Pending unstake (OPEN)", openAmount(account?.pendingUnstake ?? zero)),
      card("slashed", "Slashed (OPEN)", openAmount(account?.slashed ?? zero)),
      card(
        "invoices",
        "Invoices",
        formatCount(any.totalCount),
        `${formatCount(caller.totalCount)} as caller, ${formatCount(provider.totalCount)} as provider, ${formatCount(holder.totalCount)} held`,
      ),
    ),
    h(
      "nav",
      { class: "tabs account-tabs", "aria-label": "Account tabs" },
      [
        ["activity", "Activity"],
        ["contributor", "As contributor"],
      ].map(([name, label]) =>
        h(
          "a",
          {
            href: `#/account/${address}${name === "activity" ? "?tab=activity" : "?tab=contributor"}`,
            class: name === tab ? "active" : undefined,
            "data-tab": name,
          },
          label,
        ),
      ),
    ),
  ];
  if (tab === "contributor") return [...header, ...(await contributorTab(address, route))];

  const [earnings, claims, stakeChanges, slashes] = await Promise.all([
    fetchAll<{ role: number; day: number; amount: string; payouts: number }>(
      "earningsDaily",
      "role day amount payouts",
      {
        where: { account: address },
        orderBy: "day",
        orderDirection: "desc",
      },
    ),
    fetchAll<{ id: string; amount: string; timestamp: string; txHash: string }>("claim", "id amount timestamp txHash", {
      where: { account: address },
      orderBy: "id",
      orderDirection: "desc",
    }),
    fetchAll<StakeChangeRow>(
      "stakeChange",
      "id kind amount stakeAfter pendingAfter requestId timestamp blockNumber txHash",
      { where: { staker: address }, orderBy: "id" },
    ),
    fetchAll<{
      id: string;
      invoiceId: string | null;
      reason: number;
      amount: string;
      remainingStake: string;
      timestamp: string;
      txHash: string;
    }>("slash", "id invoiceId reason amount remainingStake timestamp txHash", {
      where: { staker: address },
      orderBy: "id",
      orderDirection: "desc",
    }),
  ]);
  const earnedByRole = ROLES.map((r) =>
    earnings.filter((row) => row.role === r).reduce((sum, row) => sum + BigInt(row.amount), 0n),
  );

  return [
    ...header,
    section(
      "Invoices",
      h(
        "nav",
        { class: "tabs" },
        INVOICE_ROLES.map((r) =>
          h(
            "a",
            {
              href: hrefWith(`account/${address}`, route.query, { role: r === "any" ? undefined : r }),
              class: r === role ? "active" : undefined,
            },
            r === "any" ? "All" : r === "holder" ? "Held" : `As ${r}`,
          ),
        ),
      ),
      await invoicesTable(address, role),
    ),
    section(
      "Earnings",
      cards(...ROLES.map((r) => card(`earned-role-${r}`, roleName(r), openAmount(earnedByRole[r])))),
      dataTable({
        name: "account-earnings",
        rows: earnings,
        limit: 20,
        empty: "Nothing credited to this account.",
        columns: [
          { label: "Day", kind: "day", value: (row) => row.day },
          { label: "Role", kind: "text", value: (row) => roleName(row.role) },
          { label: "Credited", kind: "open", value: (row) => row.amount },
          { label: "Payouts", kind: "count", value: (row) => row.payouts },
        ],
      }),
    ),
    section(
      "Claims",
      dataTable({
        name: "account-claims",
        rows: claims,
        limit: 20,
        empty: "No claim.",
        columns: [
          { label: "Time", kind: "time", value: (row) => row.timestamp },
          { label: "Amount", kind: "open", value: (row) => row.amount },
          { label: "Transaction", kind: "hex", value: (row) => row.txHash },
        ],
      }),
    ),
    section(
      "Stake history",
      stakeChanges.length > 0
        ? dailyChart({
            name: "stake-history",
            seconds: stakeChanges.map((row) => Number(row.timestamp)),
            leftLabel: "OPEN",
            series: [
              {
                label: "Active stake",
                color: "#3566d6",
                style: "step",
                values: stakeChanges.map((row) => openFloat(BigInt(row.stakeAfter))),
                format: compactOpen,
              },
              {
                label: "Pending unstake",
                color: "#e09b26",
                style: "step",
                values: stakeChanges.map((row) => openFloat(BigInt(row.pendingAfter))),
                format: compactOpen,
              },
            ],
          })
        : null,
      dataTable<StakeChangeRow>({
        name: "account-stake-changes",
        rows: [...stakeChanges].reverse(),
        limit: 20,
        empty: "Never staked.",
        columns: [
          { label: "Time", kind: "time", value: (row) => row.timestamp },
          { label: "Change", kind: "text", value: (row) => STAKE_KINDS[row.kind] ?? row.kind },
          { label: "Amount", kind: "open", value: (row) => row.amount },
          { label: "Active after", kind: "open", value: (row) => row.stakeAfter },
          { label: "Pending after", kind: "open", value: (row) => row.pendingAfter },
          { label: "Request", kind: "text", value: (row) => row.requestId },
          { label: "Block", kind: "count", value: (row) => row.blockNumber },
          { label: "Transaction", kind: "hex", value: (row) => row.txHash },
        ],
      }),
    ),
    section(
      "Slashes",
      dataTable({
        name: "account-slashes",
        rows: slashes,
        limit: 20,
        empty: "Never slashed.",
        columns: [
          { label: "Time", kind: "time", value: (row) => row.timestamp },
          { label: "Reason", kind: "text", value: (row) => slashReasonName(row.reason) },
          { label: "Amount", kind: "open", value: (row) => row.amount },
          { label: "Stake left", kind: "open", value: (row) => row.remainingStake },
          { label: "Invoice", kind: "invoice", value: (row) => row.invoiceId },
          { label: "Transaction", kind: "hex", value: (row) => row.txHash },
        ],
      }),
    ),
  ];
}

const STAKE_KINDS: Record<string, string> = {
  stake: "Stake",
  unstakeRequest: "Unstake requested",
  unstake: "Unstaked",
  slash: "Slashed",
};

const INVOICE_FIELDS = "invoiceId status caller provider holder modelId amount paid issuedAt settledAt";

/** The account's invoices, newest first, a page at a time with the `after` cursor. */
function invoicesTable(address: string, role: InvoiceRole): Promise<HTMLElement> {
  const partsOf = (row: InvoiceListRow) =>
    [row.caller === address && "caller", row.provider === address && "provider", row.holder === address && "holder"]
      .filter(Boolean)
      .join(", ");
  return pagedTable<InvoiceListRow>({
    name: "account-invoices",
    table: "invoice",
    fields: INVOICE_FIELDS,
    where: invoiceFilter(address, role),
    orderBy: "invoiceId",
    orderDirection: "desc",
    perPage: INVOICES_PER_PAGE,
    noun: "invoices",
    empty: "No invoice.",
    previousLabel: "← Newer",
    nextLabel: "Older →",
    columns: [
      { label: "Invoice", kind: "invoice", value: (row) => row.invoiceId },
      { label: "Status", kind: "text", value: (row) => row.status, cell: (row) => statusBadge(row.status) },
      { label: "This account is", kind: "text", value: partsOf },
      { label: "Model", kind: "model", value: (row) => row.modelId },
      { label: "Amount", kind: "open", value: (row) => row.amount },
      { label: "Paid", kind: "open", value: (row) => row.paid },
      { label: "Issued", kind: "time", value: (row) => row.issuedAt },
      { label: "Settled", kind: "time", value: (row) => row.settledAt },
    ],
  });
}
