/** Earnings: OPEN credited per day by role (stacked), and the top earners of the range with their split by role. */
import { ROLE_COLORS, rolePeriods } from "../charts.js";
import { accountLink, card, cards, dataTable, h, message, openAmount, section } from "../dom.js";
import { bytes32Label, formatCount, isBytes32, ROLES, roleName, SECONDS_PER_DAY, shortHex } from "../format.js";
import { fetchAll } from "../graphql.js";
import { hrefWith, intervalControls, loadRange, type Route, rangeControls, readInterval } from "../route.js";

type EarningsRow = { account: string; role: number; day: number; amount: string; payouts: number };

/** What one account earned over the range, by role (index = role). */
type Earner = { account: string; total: bigint; byRole: bigint[]; payouts: number };

export async function earningsPage(route: Route): Promise<(Node | null)[]> {
  const range = await loadRange(route);
  if (!range) return [message("info", "Nothing is indexed yet: earnings appear as invoices settle.")];
  const interval = readInterval(route);
  const wanted = route.query.get("model")?.toLowerCase() || undefined;
  if (wanted !== undefined && !isBytes32(wanted)) {
    return [h("h1", {}, "Earnings"), message("error", `“${wanted}” is not a model id: 0x followed by 64 hex digits.`)];
  }
  const [rows, models] = await Promise.all([
    wanted ? modelCredits(wanted, range) : loadEarnings(range),
    fetchAll<{ modelId: string }>("model", "modelId", { orderBy: "modelId" }),
  ]);

  const earners = new Map<string, Earner>();
  for (const row of rows) {
    const amount = BigInt(row.amount);
    let earner = earners.get(row.account);
    if (!earner) {
      earner = { account: row.account, total: 0n, byRole: ROLES.map(() => 0n), payouts: 0 };
      earners.set(row.account, earner);
    }
    earner.total += amount;
    earner.byRole[row.role] += amount;
    earner.payouts += row.payouts;
  }
  const ranked = [...earners.values()].sort((a, b) => (a.total === b.total ? 0 : a.total > b.total ? -1 : 1));
  const byRole = ROLES.map((role) => ranked.reduce((sum, earner) => sum + earner.byRole[role], 0n));
  const total = byRole.reduce((sum, v) => sum + v, 0n);
  const { chart, table } = rolePeriods(
    { chart: "earnings-per-day", table: `earnings-${interval}` },
    rows,
    range,
    interval,
  );
  const per = interval === "day" ? "day" : interval === "week" ? "week (ISO, from Monday)" : "month";

  return [
    h("h1", {}, "Earnings"),
    rangeControls("earnings", route, range),
    range.notice ? message("error", range.notice) : null,
    modelFilter(route, models, wanted),
    cards(
      card("earned", "Credited (OPEN)", openAmount(total), `${formatCount(earners.size)} accounts`),
      ...ROLES.map((role) => card(`role-${role}`, roleName(role), openAmount(byRole[role]))),
    ),
    section(
      `Credited per ${per}, by role`,
      intervalControls("earnings", route),
      chart,
      h(
        "p",
        { class: "muted" },
        "Payouts on the day their invoice settled; protocol tax is credited to the treasury. Weeks and months hold the days of the range only.",
      ),
      table,
    ),
    section(
      "Top earners",
      dataTable<Earner>({
        name: "top-earners",
        rows: ranked,
        limit: 25,
        empty: "No payouts in this range.",
        columns: [
          { label: "Account", kind: "account", value: (e) => e.account, cell: (e) => accountLink(e.account) },
          { label: "Total", kind: "open", value: (e) => e.total },
          ...ROLES.map((role) => ({
            label: roleName(role),
            kind: "open" as const,
            value: (e: Earner) => e.byRole[role],
          })),
          { label: "Payouts", kind: "count", value: (e) => e.payouts },
          {
            label: "Split by role",
            kind: "text",
            value: (e) =>
              ROLES.filter((role) => e.byRole[role] > 0n)
                .map((role) => `${roleName(role)} ${share(e.byRole[role], e.total)}`)
                .join("; "),
            cell: (e) => splitBar(e),
          },
        ],
      }),
    ),
  ];
}

const share = (part: bigint, whole: bigint) =>
  whole === 0n ? "0 %" : `${(Number((part * 10_000n) / whole) / 100).toFixed(1)} %`;

/** A thin bar split by role, proportional to what each role earned. */
function splitBar(earner: Earner) {
  return h(
    "div",
    {
      class: "split",
      title: ROLES.map((role) => `${roleName(role)}: ${share(earner.byRole[role], earner.total)}`).join("\n"),
    },
    ROLES.filter((role) => earner.byRole[role] > 0n).map((role) =>
      h("span", {
        style: `width:${Number((earner.byRole[role] * 10_000n) / (earner.total || 1n)) / 100}%;background:${ROLE_COLORS[role]}`,
      }),
    ),
  );
}

/** The range's earningsDaily rows. */
function loadEarnings(range: { from: number; to: number }): Promise<EarningsRow[]> {
  return fetchAll<EarningsRow>("earningsDaily", "account role day amount payouts", {
    where: { day_gte: range.from, day_lte: range.to },
    orderBy: "day",
  });
}

/**
 * What one model's invoices credited over the range, as earningsDaily-like rows: its payouts (roles 1..4,
 * which carry the invoice's model) and the tax of its invoices settled in the range (role 0, to the treasury).
 */
async function modelCredits(modelId: string, range: { from: number; to: number }): Promise<EarningsRow[]> {
  const start = String(range.from * SECONDS_PER_DAY);
  const end = String((range.to + 1) * SECONDS_PER_DAY);
  const [payouts, taxed] = await Promise.all([
    fetchAll<{ account: string; role: number; amount: string; timestamp: string }>(
      "payout",
      "account role amount timestamp",
      {
        where: { modelId, timestamp_gte: start, timestamp_lt: end },
        orderBy: "id",
      },
    ),
    fetchAll<{ taxCreditedTo: string | null; tax: string | null; settledAt: string }>(
      "invoice",
      "taxCreditedTo tax settledAt",
      {
        where: { modelId, status: "settled", settledAt_gte: start, settledAt_lt: end },
        orderBy: "invoiceId",
      },
    ),
  ]);
  const dayOf = (seconds: string) => Math.floor(Number(seconds) / SECONDS_PER_DAY);
  return [
    ...payouts.map((p) => ({
      account: p.account,
      role: p.role,
      day: dayOf(p.timestamp),
      amount: p.amount,
      payouts: 1,
    })),
    ...taxed
      .filter((i) => i.taxCreditedTo !== null && BigInt(i.tax ?? 0) > 0n)
      .map((i) => ({
        account: i.taxCreditedTo as string,
        role: 0,
        day: dayOf(i.settledAt),
        amount: i.tax as string,
        payouts: 1,
      })),
  ];
}

/** A select of the models: the page's figures for one model's invoices, or all. */
function modelFilter(route: Route, models: { modelId: string }[], wanted: string | undefined): HTMLElement {
  const select = h(
    "select",
    {
      name: "model",
      onchange: (event: Event) => {
        const value = (event.target as HTMLSelectElement).value;
        window.location.hash = hrefWith("earnings", route.query, { model: value || undefined });
      },
    },
    h("option", { value: "" }, "All models"),
    models.map((m) =>
      h(
        "option",
        { value: m.modelId, selected: m.modelId === wanted },
        bytes32Label(m.modelId) ?? shortHex(m.modelId, 6),
      ),
    ),
  );
  return h(
    "form",
    { class: "range model-filter", onsubmit: (event: Event) => event.preventDefault() },
    h("label", {}, "Model ", select),
    wanted
      ? h("span", { class: "muted" }, "Payouts of this model's invoices, and their tax, on the day they settled.")
      : null,
  );
}
