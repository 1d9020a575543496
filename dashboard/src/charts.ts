/** Daily charts with uPlot: x is the UTC day, every day of the range present (zero when nothing happened). */
import uPlot from "uplot";
import { dataTable, h } from "./dom.js";
import {
  compactNumber,
  compactOpen,
  type Interval,
  openFloat,
  periodLabel,
  periodsOf,
  ROLES,
  roleName,
  SECONDS_PER_DAY,
  sumByPeriod,
} from "./format.js";
import { onLeave } from "./lifecycle.js";

/** A colour per contributor role (index = role: tax, data provider, model optimizer, router, holder). */
export const ROLE_COLORS = ["#9a9a9a", "#2a9d8f", "#e9b949", "#f08a4b", "#3566d6"];

export type Series = {
  label: string;
  color: string;
  values: (number | null)[];
  /** "y" (left axis) unless it is "right". */
  axis?: "left" | "right";
  style?: "line" | "bars" | "step";
  /** How the legend shows a value. */
  format?: (value: number) => string;
};

export type ChartOptions = {
  /** Names the chart for tests (`data-chart`). */
  name: string;
  /** UTC day numbers, one per point. */
  days?: number[];
  series: Series[];
  leftLabel?: string;
  rightLabel?: string;
  /** The right axis is a percentage (0 to 100) rather than a count. */
  rightPercent?: boolean;
  /** Bars stacked in the order given (the first at the bottom); the legend still shows each series' own value. */
  stacked?: boolean;
  /** x values are unix seconds rather than days (stake history). */
  seconds?: number[];
  height?: number;
};

function pathsOf(style: Series["style"]) {
  if (style === "bars") return uPlot.paths.bars?.({ size: [0.7, 60], gap: 1 });
  if (style === "step") return uPlot.paths.stepped?.({ align: 1 });
  return undefined;
}

/** A uPlot chart that follows its container's width; destroyed when the page changes. */
export function dailyChart(options: ChartOptions): HTMLElement {
  const x = options.seconds ?? (options.days ?? []).map((day) => day * SECONDS_PER_DAY);
  const container = h("div", { class: "chart", "data-chart": options.name });
  const ordered = options.stacked ? [...options.series].reverse() : options.series;
  let plotted = ordered.map((series) => series.values);
  if (options.stacked) {
    // Cumulative sums drawn from the top down, each opaque: what shows of each is its own share.
    const running = x.map(() => 0);
    plotted = options.series.map((series) => x.map((_, i) => (running[i] += series.values[i] ?? 0))).reverse();
  }
  const hasRight = ordered.some((series) => series.axis === "right");
  const data: uPlot.AlignedData = [x, ...plotted];
  const opts: uPlot.Options = {
    width: 800,
    height: options.height ?? 260,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: { drag: { x: true, y: false } },
    scales: {
      // One point (one month, say) gets a day either side: uPlot would otherwise spread it over years.
      x: {
        time: true,
        range: (_u, min, max) => (min === max ? [min - SECONDS_PER_DAY, max + SECONDS_PER_DAY] : [min, max]),
      },
      ...(options.rightPercent ? { right: { range: [0, 100] } } : {}),
    },
    series: [
      { label: options.seconds ? "Time (UTC)" : "Day (UTC)" },
      ...ordered.map(
        (series): uPlot.Series => ({
          label: series.label,
          stroke: series.color,
          fill: series.style === "bars" ? series.color : undefined,
          width: series.style === "bars" ? 0 : 2,
          scale: series.axis === "right" ? "right" : "y",
          paths: pathsOf(series.style),
          points: { show: series.style === "bars" ? false : undefined },
          spanGaps: false,
          // The series' own value, also when stacked (the plotted value is then a running sum).
          value: (_u, _v, _seriesIndex, i) => {
            const raw = i === null ? null : series.values[i];
            return raw === null || raw === undefined ? "–" : (series.format ?? compactNumber)(raw);
          },
        }),
      ),
    ],
    axes: [
      {},
      { label: options.leftLabel, values: (_u, splits) => splits.map(compactNumber), size: 60 },
      ...(hasRight
        ? [
            {
              scale: "right",
              side: 1,
              label: options.rightLabel,
              grid: { show: false },
              values: (_u: uPlot, splits: number[]) =>
                splits.map((v) => (options.rightPercent ? `${v} %` : compactNumber(v))),
              size: 60,
            } satisfies uPlot.Axis,
          ]
        : []),
    ],
  };
  const plot = new uPlot(opts, data, container);
  const observer = new ResizeObserver(() => {
    const width = container.clientWidth;
    if (width > 0 && width !== plot.width) plot.setSize({ width, height: opts.height });
  });
  observer.observe(container);
  onLeave(() => {
    observer.disconnect();
    plot.destroy();
  });
  return container;
}

/** A day's credit to one role (earningsDaily, or a payout on its day). */
export type RoleAmount = { role: number; day: number; amount: string | bigint };

/**
 * OPEN credited per period of `range` (days, inclusive), stacked by role: a chart and a table of the periods,
 * newest first (named `names.chart`, `names.table`), summed exactly with BigInt.
 */
export function rolePeriods(
  names: { chart: string; table: string },
  rows: RoleAmount[],
  range: { from: number; to: number },
  interval: Interval,
) {
  const periods = periodsOf(range, interval);
  const sums = sumByPeriod(rows, {
    day: (row) => row.day,
    amounts: (row) => ROLES.map((role) => (role === row.role ? BigInt(row.amount) : 0n)),
    width: ROLES.length,
    periods,
    interval,
  });
  const table = periods.map((start, i) => ({ start, amounts: sums[i] })).reverse();
  const chart = dailyChart({
    name: names.chart,
    days: periods,
    stacked: true,
    leftLabel: "OPEN",
    series: ROLES.map((role) => ({
      label: roleName(role),
      color: ROLE_COLORS[role],
      style: "bars" as const,
      values: sums.map((period) => openFloat(period[role])),
      format: compactOpen,
    })),
  });
  return {
    chart,
    table: dataTable({
      name: names.table,
      rows: table,
      limit: 31,
      columns: [
        { label: "Period", kind: "text", value: (row) => periodLabel(row.start, interval) },
        ...ROLES.map((role) => ({
          label: roleName(role),
          kind: "open" as const,
          value: (row: (typeof table)[number]) => row.amounts[role],
        })),
        { label: "Total", kind: "open", value: (row) => row.amounts.reduce((sum, v) => sum + v, 0n) },
      ],
    }),
  };
}
