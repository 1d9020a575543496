/** Protocol overview: invoices, gross, tax, refunds and slashed OPEN per day, the SLO hit rate per day, totals. */
import { dailyChart } from "../charts.js";
import { card, cards, dataTable, h, message, openAmount, section } from "../dom.js";
import {
  compactOpen,
  dayLabel,
  formatCount,
  formatPercent,
  type Interval,
  openFloat,
  periodLabel,
  periodsOf,
  sumByPeriod,
} from "../format.js";
import { fetchAll } from "../graphql.js";
import {
  type DayRange,
  daysOf,
  intervalControls,
  loadRange,
  type Route,
  rangeControls,
  readInterval,
} from "../route.js";

type ProtocolDailyRow = {
  day: number;
  invoices: number;
  gross: string;
  settled: number;
  paid: string;
  tax: string;
  refunds: string;
  slashed: string;
};

/** One day of the overview: the protocol's figures and the SLO counts summed over models. */
type OverviewDay = {
  day: number;
  invoices: number;
  gross: bigint;
  settled: number;
  paid: bigint;
  tax: bigint;
  refunds: bigint;
  slashed: bigint;
  sloMet: number;
  /** Invoices the SLO counts are of (issued that day). */
  sloInvoices: number;
};

const AMOUNTS = ["gross", "paid", "tax", "refunds", "slashed"] as const;

/** Every day of the range, zero where nothing happened. */
async function loadOverview(range: { from: number; to: number }): Promise<OverviewDay[]> {
  const where = { day_gte: range.from, day_lte: range.to };
  const [protocol, models] = await Promise.all([
    fetchAll<ProtocolDailyRow>("protocolDaily", "day invoices gross settled paid tax refunds slashed", {
      where,
      orderBy: "day",
    }),
    fetchAll<{ day: number; invoices: number; sloMet: number }>("modelDaily", "day invoices sloMet", {
      where,
      orderBy: "day",
    }),
  ]);
  const byDay = new Map<number, OverviewDay>(
    daysOf(range).map((day) => [
      day,
      {
        day,
        invoices: 0,
        gross: 0n,
        settled: 0,
        paid: 0n,
        tax: 0n,
        refunds: 0n,
        slashed: 0n,
        sloMet: 0,
        sloInvoices: 0,
      },
    ]),
  );
  for (const row of protocol) {
    const day = byDay.get(row.day);
    if (!day) continue;
    day.invoices = row.invoices;
    day.settled = row.settled;
    for (const key of AMOUNTS) day[key] = BigInt(row[key]);
  }
  for (const row of models) {
    const day = byDay.get(row.day);
    if (!day) continue;
    day.sloMet += row.sloMet;
    day.sloInvoices += row.invoices;
  }
  return [...byDay.values()];
}

const sloRate = (met: number, invoices: number) => (invoices === 0 ? null : met / invoices);

export async function overviewPage(route: Route): Promise<(Node | null)[]> {
  const range = await loadRange(route);
  if (!range) return [message("info", "Nothing is indexed yet: the overview fills in as invoices are issued.")];
  return renderOverview(route, range, await loadOverview(range));
}

const COUNTS = ["invoices", "settled", "sloMet", "sloInvoices"] as const;

/** The days summed per week or month (exactly: BigInt for OPEN); `day` is then the period's first day. */
function byPeriod(days: OverviewDay[], range: DayRange, interval: Interval): OverviewDay[] {
  if (interval === "day") return days;
  const periods = periodsOf(range, interval);
  const sums = sumByPeriod(days, {
    day: (d) => d.day,
    amounts: (d) => [...COUNTS.map((key) => BigInt(d[key])), ...AMOUNTS.map((key) => d[key])],
    width: COUNTS.length + AMOUNTS.length,
    periods,
    interval,
  });
  return periods.map((start, i) => {
    const period = { day: start } as OverviewDay;
    COUNTS.forEach((key, k) => {
      period[key] = Number(sums[i][k]);
    });
    AMOUNTS.forEach((key, k) => {
      period[key] = sums[i][COUNTS.length + k];
    });
    return period;
  });
}

function renderOverview(route: Route, range: DayRange, everyDay: OverviewDay[]): (Node | null)[] {
  const interval = readInterval(route);
  const days = byPeriod(everyDay, range, interval);
  const per = interval === "day" ? "day" : interval === "week" ? "week" : "month";
  const sum = (key: (typeof AMOUNTS)[number]) => days.reduce((total, day) => total + day[key], 0n);
  const invoices = days.reduce((total, day) => total + day.invoices, 0);
  const settled = days.reduce((total, day) => total + day.settled, 0);
  const sloMet = days.reduce((total, day) => total + day.sloMet, 0);
  const sloInvoices = days.reduce((total, day) => total + day.sloInvoices, 0);
  const x = days.map((day) => day.day);

  return [
    h("h1", {}, "Protocol overview"),
    rangeControls("overview", route, range),
    range.notice ? message("error", range.notice) : null,
    intervalControls("overview", route),
    cards(
      card("invoices", "Invoices issued", formatCount(invoices)),
      card("gross", "Gross (OPEN)", openAmount(sum("gross"))),
      card("settled", "Invoices settled", formatCount(settled)),
      card("paid", "Paid (OPEN)", openAmount(sum("paid"))),
      card("tax", "Tax (OPEN)", openAmount(sum("tax"))),
      card("refunds", "Refunds (OPEN)", openAmount(sum("refunds"))),
      card("slashed", "Slashed (OPEN)", openAmount(sum("slashed"))),
      card(
        "slo",
        "SLO hit rate",
        formatPercent(sloRate(sloMet, sloInvoices)),
        `${formatCount(sloMet)} of ${formatCount(sloInvoices)} met`,
      ),
    ),
    section(
      `Revenue per ${per} (OPEN)`,
      dailyChart({
        name: "revenue-per-day",
        days: x,
        leftLabel: "OPEN",
        series: [
          { label: "Gross", color: "#3566d6", values: days.map((d) => openFloat(d.gross)), format: compactOpen },
          { label: "Paid", color: "#1f9d6b", values: days.map((d) => openFloat(d.paid)), format: compactOpen },
          { label: "Tax", color: "#8c8c8c", values: days.map((d) => openFloat(d.tax)), format: compactOpen },
          { label: "Refunds", color: "#e09b26", values: days.map((d) => openFloat(d.refunds)), format: compactOpen },
        ],
      }),
      h("p", { class: "muted" }, "Gross on the day of issuance; paid, tax and refunds on the day of settlement."),
    ),
    section(
      `Slashed per ${per} (OPEN)`,
      dailyChart({
        name: "slashed-per-day",
        days: x,
        leftLabel: "OPEN",
        height: 200,
        series: [
          {
            label: "Slashed",
            color: "#d6453d",
            style: "bars",
            values: days.map((d) => openFloat(d.slashed)),
            format: compactOpen,
          },
        ],
      }),
      h(
        "p",
        { class: "muted" },
        "Every slash of the day, whatever its reason: SLO breaches at settlement and the owner's slashes.",
      ),
    ),
    section(
      `Invoices and SLO hit rate per ${per}`,
      dailyChart({
        name: "invoices-per-day",
        days: x,
        leftLabel: "Invoices",
        rightLabel: "SLO hit rate",
        rightPercent: true,
        series: [
          {
            label: "Invoices",
            color: "#9db8f0",
            style: "bars",
            values: days.map((d) => d.invoices),
            format: (v) => formatCount(v),
          },
          {
            label: "SLO hit rate",
            color: "#1f9d6b",
            axis: "right",
            values: days.map((d) => {
              const rate = sloRate(d.sloMet, d.sloInvoices);
              return rate === null ? null : rate * 100;
            }),
            format: (v) => `${v.toFixed(1)} %`,
          },
        ],
      }),
    ),
    section(
      `Per ${per}`,
      dataTable<OverviewDay>({
        name: interval === "day" ? "protocol-daily" : `protocol-${interval}`,
        rows: [...days].reverse(),
        limit: 31,
        columns: [
          {
            label: interval === "day" ? "Day" : "Period",
            kind: "text",
            value: (d) => periodLabel(d.day, interval),
          },
          { label: "Invoices", kind: "count", value: (d) => d.invoices },
          { label: "Gross", kind: "open", value: (d) => d.gross },
          { label: "Settled", kind: "count", value: (d) => d.settled },
          { label: "Paid", kind: "open", value: (d) => d.paid },
          { label: "Tax", kind: "open", value: (d) => d.tax },
          { label: "Refunds", kind: "open", value: (d) => d.refunds },
          { label: "Slashed", kind: "open", value: (d) => d.slashed },
          { label: "SLO met", kind: "count", value: (d) => d.sloMet },
          { label: "SLO hit rate", kind: "percent", value: (d) => sloRate(d.sloMet, d.sloInvoices) },
        ],
      }),
      h(
        "p",
        { class: "muted" },
        `${dayLabel(range.from)} to ${dayLabel(range.to)}, UTC ${interval === "week" ? "ISO weeks (from Monday)" : `${per}s`}, newest first; a week or month at an end of the range holds only the range's days.`,
      ),
    ),
  ];
}
