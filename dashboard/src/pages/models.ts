/** Models: a leaderboard over the range (from modelDaily) and one model's daily charts. */
import { dailyChart } from "../charts.js";
import { accountLink, card, cards, dataTable, facts, h, hexLabel, message, openAmount, section } from "../dom.js";
import { bytes32Label, compactOpen, formatCount, formatPercent, isBytes32, openFloat, timeLabel } from "../format.js";
import { fetchAll, graphql } from "../graphql.js";
import { type DayRange, daysOf, hrefWith, loadRange, type Route, rangeControls } from "../route.js";

type ModelDailyRow = {
  modelId: string;
  day: number;
  invoices: number;
  inputTokens: string;
  outputTokens: string;
  gross: string;
  sloMet: number;
  latencySum: string;
  latencyMax: number;
  settled: number;
  paid: string;
  refunds: string;
};

type ModelRow = {
  modelId: string;
  provider: string;
  pricePerKToken: string;
  sloLatencyMs: number;
  penaltyBps: number;
  tokens: string;
  gross: string;
  sloMet: number;
  registeredAt: string;
  invoices: number;
};

/** A model's figures over the range. */
type ModelStanding = {
  modelId: string;
  provider: string;
  invoices: number;
  tokens: bigint;
  gross: bigint;
  sloMet: number;
  latencySum: bigint;
  latencyMax: number;
  refunds: bigint;
};

const DAILY_FIELDS =
  "modelId day invoices inputTokens outputTokens gross sloMet latencySum latencyMax settled paid refunds";
const rate = (met: number, of: number) => (of === 0 ? null : met / of);
const meanLatency = (sum: bigint, invoices: number) => (invoices === 0 ? null : Number(sum) / invoices);

export async function modelsPage(route: Route): Promise<(Node | null)[]> {
  const range = await loadRange(route);
  if (!range) return [message("info", "Nothing is indexed yet: models appear as they serve invoices.")];
  const wanted = route.query.get("model");
  if (wanted !== null && !isBytes32(wanted)) {
    return [
      h("h1", {}, "Models"),
      message(
        "error",
        `“${wanted}” is not a model id: model ids are 0x followed by 64 hex digits.`,
        backToModels(route),
      ),
    ];
  }
  const where = { day_gte: range.from, day_lte: range.to };
  const [daily, models] = await Promise.all([
    fetchAll<ModelDailyRow>("modelDaily", DAILY_FIELDS, { where, orderBy: "day" }),
    fetchAll<{ modelId: string; provider: string }>("model", "modelId provider", { orderBy: "modelId" }),
  ]);
  const standings = new Map<string, ModelStanding>(
    models.map((model) => [
      model.modelId,
      {
        modelId: model.modelId,
        provider: model.provider,
        invoices: 0,
        tokens: 0n,
        gross: 0n,
        sloMet: 0,
        latencySum: 0n,
        latencyMax: 0,
        refunds: 0n,
      },
    ]),
  );
  for (const row of daily) {
    const standing = standings.get(row.modelId);
    if (!standing) continue;
    standing.invoices += row.invoices;
    standing.tokens += BigInt(row.inputTokens) + BigInt(row.outputTokens);
    standing.gross += BigInt(row.gross);
    standing.sloMet += row.sloMet;
    standing.latencySum += BigInt(row.latencySum);
    standing.latencyMax = Math.max(standing.latencyMax, row.latencyMax);
    standing.refunds += BigInt(row.refunds);
  }
  const leaderboard = [...standings.values()].sort((a, b) =>
    a.gross === b.gross ? b.invoices - a.invoices : a.gross > b.gross ? -1 : 1,
  );
  const selected = (wanted ?? leaderboard[0]?.modelId)?.toLowerCase();

  return [
    h("h1", {}, "Models"),
    rangeControls("models", route, range),
    range.notice ? message("error", range.notice) : null,
    section(
      "Leaderboard",
      dataTable<ModelStanding>({
        name: "models",
        rows: leaderboard,
        limit: 50,
        empty: "No model is registered.",
        columns: [
          {
            label: "Model",
            kind: "model",
            value: (m) => m.modelId,
            cell: (m) =>
              h(
                "a",
                {
                  href: hrefWith("models", route.query, { model: m.modelId }),
                  title: m.modelId,
                  class: m.modelId === selected ? "selected" : undefined,
                },
                bytes32Label(m.modelId) ?? m.modelId.slice(0, 14),
              ),
          },
          { label: "Provider", kind: "account", value: (m) => m.provider },
          { label: "Invoices", kind: "count", value: (m) => m.invoices },
          { label: "Tokens", kind: "count", value: (m) => m.tokens },
          { label: "Revenue (gross)", kind: "open", value: (m) => m.gross },
          { label: "SLO hit rate", kind: "percent", value: (m) => rate(m.sloMet, m.invoices) },
          { label: "Mean latency", kind: "ms", value: (m) => meanLatency(m.latencySum, m.invoices) },
          { label: "Max latency", kind: "ms", value: (m) => (m.invoices === 0 ? null : m.latencyMax) },
          { label: "Refunds", kind: "open", value: (m) => m.refunds },
        ],
      }),
      h(
        "p",
        { class: "muted" },
        "Issuance figures of the range; refunds on the day the invoice settled. Click a model for its daily charts.",
      ),
    ),
    selected ? await modelSection(selected, range, daily) : null,
  ];
}

const backToModels = (route: Route) =>
  h("p", {}, h("a", { href: hrefWith("models", route.query, { model: undefined }) }, "Back to the leaderboard"));

/** One model: its terms and lifetime counters, and its figures per day of the range. */
async function modelSection(modelId: string, range: DayRange, rangeRows: ModelDailyRow[]): Promise<Node> {
  const { model } = await graphql<{ model: ModelRow | null }>(
    `query ($chainId: Float!, $id: String!) { model(chainId: $chainId, modelId: $id) {
      modelId provider pricePerKToken sloLatencyMs penaltyBps invoices tokens gross sloMet registeredAt
    } }`,
    { id: modelId },
  );
  if (!model) {
    return section("Model", message("error", `No model ${modelId} is registered on this chain.`));
  }
  const days = daysOf(range);
  const byDay = new Map(rangeRows.filter((row) => row.modelId === modelId).map((row) => [row.day, row]));
  const rows = days.map((day) => byDay.get(day));
  const name = bytes32Label(model.modelId) ?? model.modelId;
  return h(
    "div",
    { class: "model", "data-model": model.modelId },
    h("h2", { class: "section-title" }, `Model ${name}`),
    facts([
      ["Model id", hexLabel(model.modelId)],
      ["Provider", accountLink(model.provider)],
      ["Price per 1,000 tokens", h("span", {}, openAmount(model.pricePerKToken), " OPEN")],
      ["SLO latency", `${formatCount(model.sloLatencyMs)} ms`],
      ["Penalty on an SLO breach", `${(model.penaltyBps / 100).toFixed(2)} %`],
      ["Registered", timeLabel(BigInt(model.registeredAt))],
    ]),
    cards(
      card("model-invoices", "Invoices (all time)", formatCount(model.invoices)),
      card("model-tokens", "Tokens (all time)", formatCount(BigInt(model.tokens))),
      card("model-gross", "Gross (all time, OPEN)", openAmount(model.gross)),
      card("model-slo", "SLO hit rate (all time)", formatPercent(rate(model.sloMet, model.invoices))),
    ),
    section(
      "Invoices and SLO hit rate per day",
      dailyChart({
        name: "model-invoices",
        days,
        leftLabel: "Invoices",
        rightLabel: "SLO hit rate",
        rightPercent: true,
        series: [
          {
            label: "Invoices",
            color: "#9db8f0",
            style: "bars",
            values: rows.map((r) => r?.invoices ?? 0),
            format: (v) => formatCount(v),
          },
          {
            label: "SLO hit rate",
            color: "#1f9d6b",
            axis: "right",
            values: rows.map((r) => (r && r.invoices > 0 ? (r.sloMet / r.invoices) * 100 : null)),
            format: (v) => `${v.toFixed(1)} %`,
          },
        ],
      }),
    ),
    section(
      "Gross, paid and refunds per day (OPEN)",
      dailyChart({
        name: "model-open",
        days,
        leftLabel: "OPEN",
        series: [
          {
            label: "Gross",
            color: "#3566d6",
            values: rows.map((r) => openFloat(BigInt(r?.gross ?? 0))),
            format: compactOpen,
          },
          {
            label: "Paid",
            color: "#1f9d6b",
            values: rows.map((r) => openFloat(BigInt(r?.paid ?? 0))),
            format: compactOpen,
          },
          {
            label: "Refunds",
            color: "#e09b26",
            values: rows.map((r) => openFloat(BigInt(r?.refunds ?? 0))),
            format: compactOpen,
          },
        ],
      }),
    ),
    section(
      "Latency per day",
      dailyChart({
        name: "model-latency",
        days,
        leftLabel: "ms",
        series: [
          {
            label: "Mean",
            color: "#7b52c7",
            values: rows.map((r) => (r && r.invoices > 0 ? Number(BigInt(r.latencySum)) / r.invoices : null)),
            format: (v) => `${formatCount(Math.round(v))} ms`,
          },
          {
            label: "Max",
            color: "#d6453d",
            values: rows.map((r) => (r && r.invoices > 0 ? r.latencyMax : null)),
            format: (v) => `${formatCount(v)} ms`,
          },
          {
            label: "SLO",
            color: "#8c8c8c",
            values: days.map(() => model.sloLatencyMs),
            format: (v) => `${formatCount(v)} ms`,
          },
        ],
      }),
    ),
    section(
      "Per day",
      dataTable<ModelDailyRow>({
        name: "model-daily",
        rows: rows.filter((r): r is ModelDailyRow => r !== undefined).reverse(),
        limit: 31,
        empty: "No invoice of this model in the range.",
        columns: [
          { label: "Day", kind: "day", value: (r) => r.day },
          { label: "Invoices", kind: "count", value: (r) => r.invoices },
          { label: "Input tokens", kind: "count", value: (r) => r.inputTokens },
          { label: "Output tokens", kind: "count", value: (r) => r.outputTokens },
          { label: "Gross", kind: "open", value: (r) => r.gross },
          { label: "SLO hit rate", kind: "percent", value: (r) => rate(r.sloMet, r.invoices) },
          { label: "Mean latency", kind: "ms", value: (r) => meanLatency(BigInt(r.latencySum), r.invoices) },
          { label: "Max latency", kind: "ms", value: (r) => (r.invoices === 0 ? null : r.latencyMax) },
          { label: "Settled", kind: "count", value: (r) => r.settled },
          { label: "Paid", kind: "open", value: (r) => r.paid },
          { label: "Refunds", kind: "open", value: (r) => r.refunds },
        ],
      }),
    ),
  );
}
