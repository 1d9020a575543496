/**
 * Dataset and datanet pages (#/dataset/0x…, #/datanet/0x…): lifetime totals, usage and the
 * data-provider OPEN attributed per day, week or month (datasetDaily, datanetDaily; docs/attribution.md),
 * and the models whose invoices used them (datasetUse → invoice → model).
 */
import { dailyChart } from "../charts.js";
import { card, cards, dataTable, facts, h, message, modelLink, openAmount, section, statusBadge } from "../dom.js";
import {
  bytes32Label,
  compactOpen,
  formatCount,
  type Interval,
  isBytes32,
  openFloat,
  periodLabel,
  periodsOf,
  sumByPeriod,
} from "../format.js";
import { fetchAll, graphql } from "../graphql.js";
import { intervalControls, type Route, readInterval } from "../route.js";
import { datanetHref, datasetHref } from "./search.js";

type Totals = { invoices: number; tokens: string; attributed: string };
type DailyRow = { day: number; invoices: number; tokens: string; attributed: string };
type UseRow = {
  invoiceId: string;
  position: number;
  datasetHash: string;
  attributed: string | null;
  invoice: { modelId: string; status: string } | null;
};
/** A model's invoices that used the dataset (or the datanet), once each, and the OPEN attributed to those uses. */
type ModelUse = { modelId: string; invoices: Set<string>; attributed: bigint };

const USE_FIELDS = "invoiceId position datasetHash attributed invoice { modelId status }";

export const datasetLink = (hash: string) =>
  h(
    "a",
    { href: datasetHref(hash), class: "mono", title: hash },
    bytes32Label(hash) ?? `${hash.slice(0, 8)}…${hash.slice(-6)}`,
  );
export const datanetLink = (id: string) =>
  h("a", { href: datanetHref(id), class: "mono", title: id }, bytes32Label(id) ?? `${id.slice(0, 8)}…${id.slice(-6)}`);

export async function datasetPage(route: Route): Promise<(Node | null)[]> {
  const hash = (route.path[1] ?? "").toLowerCase();
  if (!isBytes32(hash)) {
    return [h("h1", {}, "Dataset"), message("error", `“${hash}” is not a dataset hash: 0x followed by 64 hex digits.`)];
  }
  const [{ dataset }, daily, uses] = await Promise.all([
    graphql<{ dataset: (Totals & { datanetId: string; version: number }) | null }>(
      `query ($chainId: Float!, $hash: String!) {
        dataset(chainId: $chainId, datasetHash: $hash) { datanetId version invoices tokens attributed }
      }`,
      { hash },
    ),
    fetchAll<DailyRow>("datasetDaily", "day invoices tokens attributed", {
      where: { datasetHash: hash },
      orderBy: "day",
    }),
    fetchAll<UseRow>("datasetUse", USE_FIELDS, { where: { datasetHash: hash }, orderBy: "invoiceId" }),
  ]);
  if (!dataset) {
    return [
      h("h1", {}, "Dataset"),
      message("error", `No dataset ${hash} in the index: no invoice on this chain lists it.`),
    ];
  }
  return [
    h("h1", {}, "Dataset ", h("span", { class: "mono", "data-dataset": hash }, hash)),
    facts([
      ["Datanet", datanetLink(dataset.datanetId)],
      ["Version", String(dataset.version)],
    ]),
    ...attribution(`dataset/${hash}`, route, "dataset", dataset, daily, uses),
    section(
      "Invoices that list it",
      dataTable<UseRow>({
        name: "dataset-uses",
        rows: [...uses].reverse(),
        limit: 25,
        columns: [
          { label: "Invoice", kind: "invoice", value: (use) => use.invoiceId },
          { label: "Position", kind: "count", value: (use) => use.position },
          { label: "Model", kind: "model", value: (use) => use.invoice?.modelId },
          {
            label: "Status",
            kind: "text",
            value: (use) => use.invoice?.status,
            cell: (use) => (use.invoice ? statusBadge(use.invoice.status) : "–"),
          },
          { label: "Attributed", kind: "open", value: (use) => use.attributed },
        ],
      }),
    ),
  ];
}

export async function datanetPage(route: Route): Promise<(Node | null)[]> {
  const id = (route.path[1] ?? "").toLowerCase();
  if (!isBytes32(id)) {
    return [h("h1", {}, "Datanet"), message("error", `“${id}” is not a datanet id: 0x followed by 64 hex digits.`)];
  }
  const [{ datanet }, daily, uses, datasets] = await Promise.all([
    graphql<{ datanet: (Totals & { datasetCount: number }) | null }>(
      `query ($chainId: Float!, $id: String!) {
        datanet(chainId: $chainId, datanetId: $id) { datasetCount invoices tokens attributed }
      }`,
      { id },
    ),
    fetchAll<DailyRow>("datanetDaily", "day invoices tokens attributed", { where: { datanetId: id }, orderBy: "day" }),
    fetchAll<UseRow>("datasetUse", USE_FIELDS, { where: { datanetId: id }, orderBy: "invoiceId" }),
    fetchAll<Totals & { datasetHash: string; version: number }>(
      "dataset",
      "datasetHash version invoices tokens attributed",
      { where: { datanetId: id }, orderBy: "datasetHash" },
    ),
  ]);
  if (!datanet) {
    return [
      h("h1", {}, "Datanet"),
      message("error", `No datanet ${id} in the index: no invoice on this chain names it.`),
    ];
  }
  return [
    h("h1", {}, "Datanet ", h("span", { class: "mono", "data-datanet": id, title: id }, bytes32Label(id) ?? id)),
    ...attribution(`datanet/${id}`, route, "datanet", datanet, daily, uses),
    section(
      "Datasets",
      h(
        "p",
        { class: "muted" },
        `${formatCount(datanet.datasetCount)} datasets named this datanet at their first use.`,
      ),
      dataTable({
        name: "datanet-datasets",
        rows: datasets,
        columns: [
          { label: "Dataset", kind: "hex", value: (d) => d.datasetHash, cell: (d) => datasetLink(d.datasetHash) },
          { label: "Version", kind: "count", value: (d) => d.version },
          { label: "Invoices", kind: "count", value: (d) => d.invoices },
          { label: "Tokens", kind: "count", value: (d) => d.tokens },
          { label: "Attributed", kind: "open", value: (d) => d.attributed },
        ],
      }),
    ),
  ];
}

/** The lifetime cards, the charts and table per period, and the models, shared by both pages. */
function attribution(
  pathName: string,
  route: Route,
  kind: "dataset" | "datanet",
  totals: Totals,
  daily: DailyRow[],
  uses: UseRow[],
): (Node | null)[] {
  const interval: Interval = readInterval(route);
  const models = new Map<string, ModelUse>();
  for (const use of uses) {
    const modelId = use.invoice?.modelId;
    if (!modelId) continue;
    const model = models.get(modelId) ?? { modelId, invoices: new Set<string>(), attributed: 0n };
    model.invoices.add(use.invoiceId);
    model.attributed += BigInt(use.attributed ?? 0);
    models.set(modelId, model);
  }
  const ranked = [...models.values()].sort((a, b) => b.invoices.size - a.invoices.size);
  const lifetime = cards(
    card("invoices", "Invoices", formatCount(totals.invoices), "listing it, once each"),
    card("tokens", "Tokens", formatCount(BigInt(totals.tokens)), "input + output of those invoices"),
    card("attributed", "Attributed (OPEN)", openAmount(totals.attributed), "data-provider OPEN, at settlement"),
    card("models", "Models", formatCount(models.size), "whose invoices used it"),
  );
  const modelsTable = section(
    "Models that used it",
    dataTable<ModelUse>({
      name: `${kind}-models`,
      rows: ranked,
      empty: "No model.",
      columns: [
        { label: "Model", kind: "model", value: (m) => m.modelId, cell: (m) => modelLink(m.modelId) },
        { label: "Invoices", kind: "count", value: (m) => m.invoices.size },
        { label: "Attributed", kind: "open", value: (m) => m.attributed },
      ],
    }),
  );
  if (daily.length === 0) return [lifetime, message("info", "No day recorded yet."), modelsTable];

  const days = daily.map((row) => row.day);
  const periods = periodsOf({ from: Math.min(...days), to: Math.max(...days) }, interval);
  const sums = sumByPeriod(daily, {
    day: (row) => row.day,
    amounts: (row) => [BigInt(row.invoices), BigInt(row.tokens), BigInt(row.attributed)],
    width: 3,
    periods,
    interval,
  });
  const rows = periods.map((start, i) => ({ start, invoices: sums[i][0], tokens: sums[i][1], attributed: sums[i][2] }));
  return [
    lifetime,
    section(
      "Usage and attributed OPEN",
      intervalControls(pathName, route),
      dailyChart({
        name: `${kind}-usage`,
        days: periods,
        leftLabel: "Invoices",
        height: 200,
        series: [
          {
            label: "Invoices",
            color: "#9db8f0",
            style: "bars",
            values: rows.map((r) => Number(r.invoices)),
            format: (v) => formatCount(v),
          },
        ],
      }),
      dailyChart({
        name: `${kind}-attributed`,
        days: periods,
        leftLabel: "OPEN",
        height: 200,
        series: [
          {
            label: "Attributed",
            color: "#2a9d8f",
            style: "bars",
            values: rows.map((r) => openFloat(r.attributed)),
            format: compactOpen,
          },
        ],
      }),
      h(
        "p",
        { class: "muted" },
        "Invoices and tokens on the day of issuance; attributed OPEN on the day of settlement (UTC).",
      ),
      dataTable({
        name: `${kind}-periods`,
        rows: [...rows].reverse(),
        limit: 31,
        columns: [
          { label: "Period", kind: "text", value: (r) => periodLabel(r.start, interval) },
          { label: "Invoices", kind: "count", value: (r) => r.invoices },
          { label: "Tokens", kind: "count", value: (r) => r.tokens },
          { label: "Attributed", kind: "open", value: (r) => r.attributed },
        ],
      }),
    ),
    modelsTable,
  ];
}
