/** Earnings: OPEN credited per day by role (stacked), and the top earners of the range with their split by role. */
import { dailyChart, ROLE_COLORS } from "../charts.js";
import { accountLink, card, cards, dataTable, h, message, openAmount, section } from "../dom.js";
import { compactOpen, formatCount, openFloat, ROLES, roleName } from "../format.js";
import { fetchAll } from "../graphql.js";
import { daysOf, loadRange, type Route, rangeControls } from "../route.js";

type EarningsRow = { account: string; role: number; day: number; amount: string; payouts: number };

/** What one account earned over the range, by role (index = role). */
type Earner = { account: string; total: bigint; byRole: bigint[]; payouts: number };

export async function earningsPage(route: Route): Promise<(Node | null)[]> {
  const range = await loadRange(route);
  if (!range) return [message("info", "Nothing is indexed yet: earnings appear as invoices settle.")];
  const rows = await fetchAll<EarningsRow>("earningsDaily", "account role day amount payouts", {
    where: { day_gte: range.from, day_lte: range.to },
    orderBy: "day",
  });

  const days = daysOf(range);
  const perDay = ROLES.map(() => days.map(() => 0n));
  const earners = new Map<string, Earner>();
  for (const row of rows) {
    const amount = BigInt(row.amount);
    perDay[row.role][row.day - range.from] += amount;
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
  const byRole = ROLES.map((role) => perDay[role].reduce((sum, v) => sum + v, 0n));
  const total = byRole.reduce((sum, v) => sum + v, 0n);

  return [
    h("h1", {}, "Earnings"),
    rangeControls("earnings", route, range),
    range.notice ? message("error", range.notice) : null,
    cards(
      card("earned", "Credited (OPEN)", openAmount(total), `${formatCount(earners.size)} accounts`),
      ...ROLES.map((role) => card(`role-${role}`, roleName(role), openAmount(byRole[role]))),
    ),
    section(
      "Credited per day, by role",
      dailyChart({
        name: "earnings-per-day",
        days,
        stacked: true,
        leftLabel: "OPEN",
        series: ROLES.map((role) => ({
          label: roleName(role),
          color: ROLE_COLORS[role],
          style: "bars" as const,
          values: perDay[role].map(openFloat),
          format: compactOpen,
        })),
      }),
      h("p", { class: "muted" }, "Payouts on the day their invoice settled; protocol tax is credited to the treasury."),
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
