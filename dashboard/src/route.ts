/** Hash routes (#/overview?from=2026-01-01&to=2026-01-31) and the day range the charts share. */
import { h } from "./dom.js";
import { dayLabel, INTERVALS, type Interval, parseDay } from "./format.js";
import { graphql } from "./graphql.js";

export type Route = { path: string[]; query: URLSearchParams };

export function currentRoute(): Route {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const [pathPart = "", queryPart = ""] = hash.split("?", 2);
  const path = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  return { path, query: new URLSearchParams(queryPart) };
}

/** The hash of `path` with the route's query changed by `changes` (undefined removes a key). */
export function hrefWith(path: string, query: URLSearchParams, changes: Record<string, string | undefined>) {
  const next = new URLSearchParams(query);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) next.delete(key);
    else next.set(key, value);
  }
  const text = next.toString();
  return `#/${path}${text ? `?${text}` : ""}`;
}

/** The days chosen (inclusive) and the days that have data. */
export type DayRange = { from: number; to: number; first: number; last: number; notice?: string };

/** The range of the route's `from`/`to` within the indexed days; undefined while nothing is indexed. */
export async function loadRange(route: Route): Promise<DayRange | undefined> {
  const data = await graphql<{
    first: { items: { day: number }[] };
    last: { items: { day: number }[] };
  }>(`query ($chain: Int!) {
    first: protocolDailys(where: { chainId: $chain }, orderBy: "day", orderDirection: "asc", limit: 1) { items { day } }
    last: protocolDailys(where: { chainId: $chain }, orderBy: "day", orderDirection: "desc", limit: 1) { items { day } }
  }`);
  const first = data.first.items[0]?.day;
  const last = data.last.items[0]?.day;
  if (first === undefined || last === undefined) return undefined;
  const notices: string[] = [];
  const read = (key: "from" | "to", fallback: number) => {
    const text = route.query.get(key);
    if (text === null || text === "") return fallback;
    const day = parseDay(text);
    if (day === undefined) notices.push(`“${text}” is not a date (YYYY-MM-DD): showing ${key} ${dayLabel(fallback)}.`);
    return day ?? fallback;
  };
  let from = read("from", first);
  let to = read("to", last);
  if (from > to) {
    notices.push(`The range started after it ended (${dayLabel(from)} > ${dayLabel(to)}): the two dates were swapped.`);
    [from, to] = [to, from];
  }
  return { from, to, first, last, notice: notices.join(" ") || undefined };
}

/** Date inputs and presets (last 7, 30, 90 days, all), relative to the last indexed day. */
export function rangeControls(pathName: string, route: Route, range: DayRange): HTMLElement {
  const fromInput = h("input", {
    type: "date",
    name: "from",
    value: dayLabel(range.from),
    min: dayLabel(range.first),
    max: dayLabel(range.last),
  });
  const toInput = h("input", {
    type: "date",
    name: "to",
    value: dayLabel(range.to),
    min: dayLabel(range.first),
    max: dayLabel(range.last),
  });
  const span = range.last - range.first + 1;
  const preset = (label: string, days: number | undefined) => {
    // A preset as long as the data or longer is "All".
    if (days !== undefined && days >= span) return null;
    const from = days === undefined ? range.first : range.last - days + 1;
    const active = range.from === from && range.to === range.last;
    return h(
      "a",
      {
        class: active ? "preset active" : "preset",
        href: hrefWith(pathName, route.query, { from: dayLabel(from), to: dayLabel(range.last) }),
      },
      label,
    );
  };
  const form = h(
    "form",
    {
      class: "range",
      onsubmit: (event: Event) => {
        event.preventDefault();
        window.location.hash = hrefWith(pathName, route.query, {
          from: fromInput.value || undefined,
          to: toInput.value || undefined,
        });
      },
    },
    h("label", {}, "From ", fromInput),
    h("label", {}, "to ", toInput),
    h("button", { type: "submit" }, "Apply"),
    h(
      "span",
      { class: "presets" },
      preset("7 days", 7),
      preset("30 days", 30),
      preset("90 days", 90),
      preset("All", undefined),
    ),
    h("span", { class: "muted" }, `Days are UTC; data from ${dayLabel(range.first)} to ${dayLabel(range.last)}.`),
  );
  return form;
}

/** Every day of the range, in order. */
export function daysOf(range: { from: number; to: number }): number[] {
  return Array.from({ length: range.to - range.from + 1 }, (_, i) => range.from + i);
}

/** The route's `interval` (day, week or month; day when absent or unknown). */
export function readInterval(route: Route): Interval {
  const text = route.query.get("interval");
  return (INTERVALS as readonly string[]).includes(text ?? "") ? (text as Interval) : "day";
}

/** Day / Week / Month links that keep the rest of the route (`data-interval` names each for tests). */
export function intervalControls(pathName: string, route: Route): HTMLElement {
  const current = readInterval(route);
  return h(
    "nav",
    { class: "tabs interval", "aria-label": "Period" },
    INTERVALS.map((interval) =>
      h(
        "a",
        {
          href: hrefWith(pathName, route.query, { interval: interval === "day" ? undefined : interval }),
          class: interval === current ? "active" : undefined,
          "data-interval": interval,
        },
        interval === "day" ? "Day" : interval === "week" ? "Week" : "Month",
      ),
    ),
  );
}
