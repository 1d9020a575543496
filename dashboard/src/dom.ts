/** DOM building blocks: elements, links, amounts, cards, and tables with a CSV download. */
import {
  bytes32Label,
  dayLabel,
  exactOpen,
  formatCount,
  formatOpen,
  formatPercent,
  shortHex,
  timeLabel,
  toCsv,
} from "./format.js";

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined | null | ((event: Event) => void)>;

/** An element with attributes (`on…` keys are listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") element.addEventListener(key.slice(2).toLowerCase(), value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

const accountHref = (address: string) => `#/account/${address.toLowerCase()}`;
export const invoiceHref = (invoiceId: string | bigint) => `#/invoice/${invoiceId}`;
const modelHref = (modelId: string) => `#/models?model=${modelId.toLowerCase()}`;

export const accountLink = (address: string) =>
  h("a", { href: accountHref(address), class: "mono", title: address }, shortHex(address, 6));
export const invoiceLink = (invoiceId: string | bigint) =>
  h("a", { href: invoiceHref(invoiceId), class: "mono" }, `#${invoiceId}`);
export const modelLink = (modelId: string) =>
  h("a", { href: modelHref(modelId), title: modelId }, bytes32Label(modelId) ?? shortHex(modelId, 6));

/** A short label for a bytes32 id (its ASCII text when it has one), the full value on hover. */
export const hexLabel = (hex: string | null | undefined) =>
  hex ? h("span", { class: "mono", title: hex }, bytes32Label(hex) ?? shortHex(hex, 6)) : "–";

/** An amount in OPEN, rounded, with the exact wei value on hover and in `data-wei`. */
export const openAmount = (wei: bigint | string | null | undefined) => {
  if (wei === null || wei === undefined) return h("span", { class: "muted" }, "–");
  const value = BigInt(wei);
  return h("span", { class: "open", title: `${value} wei`, "data-wei": value.toString() }, formatOpen(value));
};

/** A figure of the page's totals, named for tests (`data-total`) and exact on hover for amounts. */
export function card(name: string, label: string, value: Node | string, note?: string) {
  return h(
    "div",
    { class: "card", "data-total": name },
    h("div", { class: "card-label" }, label),
    h("div", { class: "card-value" }, value),
    note ? h("div", { class: "card-note" }, note) : null,
  );
}

export function cards(...items: HTMLElement[]) {
  return h("div", { class: "cards" }, items);
}

/** A message in the page: what went wrong or why there is nothing to show. */
export function message(kind: "error" | "info", text: string, ...more: Child[]) {
  return h("div", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, h("p", {}, text), ...more);
}

export function section(title: string, ...children: (Child | Child[])[]) {
  return h("section", { class: "panel" }, h("h2", {}, title), ...children);
}

/** How a column shows its value, sorts it and writes it to CSV. */
export type ColumnKind =
  | "text"
  | "count"
  | "open"
  | "percent"
  | "day"
  | "time"
  | "account"
  | "invoice"
  | "model"
  | "hex"
  | "ms"
  | "bps";

export type Column<R> = {
  label: string;
  kind: ColumnKind;
  value: (row: R) => unknown;
  /** Overrides the cell's content (the CSV still writes `value`). */
  cell?: (row: R) => Node | string;
};

type Cellable = string | number | bigint | boolean;

function isEmpty(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

function renderCell(kind: ColumnKind, value: unknown): Node | string {
  if (isEmpty(value)) return h("span", { class: "muted" }, "–");
  const v = value as Cellable;
  switch (kind) {
    case "count":
      return formatCount(typeof v === "bigint" ? v : Number(v));
    case "open":
      return openAmount(BigInt(v as string));
    case "percent":
      return formatPercent(Number(v));
    case "day":
      return dayLabel(Number(v));
    case "time":
      return timeLabel(BigInt(v as string));
    case "account":
      return accountLink(String(v));
    case "invoice":
      return invoiceLink(String(v));
    case "model":
      return modelLink(String(v));
    case "hex":
      return h("span", { class: "mono", title: String(v) }, shortHex(String(v), 6));
    case "ms":
      return `${formatCount(Math.round(Number(v)))} ms`;
    case "bps":
      return `${(Number(v) / 100).toFixed(2)} %`;
    default:
      return String(v);
  }
}

/** The CSV form of a value: exact (OPEN with all 18 decimals, ISO times, full hex). */
function csvValue(kind: ColumnKind, value: unknown): string {
  if (isEmpty(value)) return "";
  const v = value as Cellable;
  switch (kind) {
    case "open":
      return exactOpen(BigInt(v as string));
    case "percent":
      return Number.isFinite(Number(v)) ? String(Number(v)) : "";
    case "day":
      return dayLabel(Number(v));
    case "time":
      return new Date(Number(v) * 1000).toISOString().replace(".000Z", "Z");
    default:
      return String(v);
  }
}

const csvHeader = (column: Column<unknown>) =>
  column.kind === "open"
    ? `${column.label} (OPEN)`
    : column.kind === "percent"
      ? `${column.label} (ratio)`
      : column.kind === "ms"
        ? `${column.label} (ms)`
        : column.label;

function compareValues(a: unknown, b: unknown): number {
  if (isEmpty(a) || isEmpty(b)) return isEmpty(a) ? (isEmpty(b) ? 0 : -1) : 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" || typeof b === "boolean") return Number(a) - Number(b);
  const numeric = /^-?\d+$/;
  if (numeric.test(String(a)) && numeric.test(String(b))) {
    const x = BigInt(String(a));
    const y = BigInt(String(b));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return String(a).localeCompare(String(b));
}

/** Starts a download of `text` as `filename`. */
export function download(filename: string, text: string, type = "text/csv;charset=utf-8") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const anchor = h("a", { href: url, download: filename });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export type TableOptions<R> = {
  /** Names the table for tests (`data-table`) and its CSV file. */
  name: string;
  columns: Column<R>[];
  rows: R[];
  /** Rows shown before "Show all" (the CSV has every row). */
  limit?: number;
  empty?: string;
  /** Every row for the CSV when `rows` is one page of many. */
  allRows?: () => Promise<R[]>;
  /** Controls placed beside the CSV button (paging). */
  controls?: Node[];
  /** Sort the rows by clicking a header (off for paged tables, whose order is the server's). */
  sortable?: boolean;
  /** Attributes of a row's <tr> (a key for tests, a class to highlight it). */
  rowAttributes?: (row: R) => Attributes;
};

/** A table with a CSV download of its rows, optional sorting by header and "Show all". */
export function dataTable<R>(options: TableOptions<R>): HTMLElement {
  const { name, columns, limit = 50, sortable = true } = options;
  let rows = options.rows;
  let showAll = false;
  let sortColumn = -1;
  let sortDescending = false;

  const tbody = h("tbody");
  const headerCells = columns.map((column, index) =>
    h(
      "th",
      {
        class: ["open", "count", "percent", "ms", "bps"].includes(column.kind) ? "num" : undefined,
        "data-sortable": sortable ? "true" : undefined,
        title: sortable ? "Sort" : undefined,
        onclick: sortable
          ? () => {
              sortDescending = sortColumn === index ? !sortDescending : column.kind !== "text";
              sortColumn = index;
              rows = [...rows].sort((a, b) => compareValues(column.value(a), column.value(b)));
              if (sortDescending) rows.reverse();
              render();
            }
          : undefined,
      },
      column.label,
    ),
  );
  const more = h("button", { type: "button", class: "link-button" });
  more.addEventListener("click", () => {
    showAll = true;
    render();
  });
  const count = h("span", { class: "muted table-count" });

  function render() {
    headerCells.forEach((cell, index) => {
      cell.dataset.sorted = index === sortColumn ? (sortDescending ? "desc" : "asc") : "";
    });
    const shown = showAll ? rows : rows.slice(0, limit);
    tbody.replaceChildren(
      ...(rows.length === 0
        ? [h("tr", {}, h("td", { colspan: columns.length, class: "muted empty" }, options.empty ?? "Nothing here."))]
        : shown.map((row) =>
            h(
              "tr",
              options.rowAttributes?.(row) ?? {},
              columns.map((column) =>
                h(
                  "td",
                  { class: ["open", "count", "percent", "ms", "bps"].includes(column.kind) ? "num" : undefined },
                  column.cell ? column.cell(row) : renderCell(column.kind, column.value(row)),
                ),
              ),
            ),
          )),
    );
    more.hidden = shown.length >= rows.length;
    more.textContent = `Show all ${formatCount(rows.length)} rows`;
    count.textContent = rows.length > shown.length ? `${shown.length} of ${formatCount(rows.length)} rows` : "";
  }
  render();

  const csvButton = h("button", { type: "button", class: "csv", "data-csv": name }, "CSV");
  csvButton.addEventListener("click", async () => {
    csvButton.disabled = true;
    try {
      const all = options.allRows ? await options.allRows() : rows;
      const csv = toCsv(
        columns.map((column) => csvHeader(column as Column<unknown>)),
        all.map((row) => columns.map((column) => csvValue(column.kind, column.value(row)))),
      );
      download(`${name}.csv`, csv);
    } catch (error) {
      csvButton.after(message("error", `The CSV could not be made: ${(error as Error).message}`));
    } finally {
      csvButton.disabled = false;
    }
  });

  return h(
    "div",
    { class: "table-wrap", "data-table": name },
    h("div", { class: "table-tools" }, count, ...(options.controls ?? []), csvButton),
    h("div", { class: "table-scroll" }, h("table", {}, h("thead", {}, h("tr", {}, headerCells)), tbody)),
    more,
  );
}

/** Label/value pairs, for an invoice's or an account's fields. */
export function facts(pairs: [string, Node | string][]) {
  return h(
    "dl",
    { class: "facts" },
    pairs.map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value))),
  );
}

/** An invoice's status (issued, scheduled, settled, voided), coloured. */
export const statusBadge = (status: string) => h("span", { class: `badge status-${status}` }, status);
