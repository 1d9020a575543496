/**
 * The search page: a mistake explained, or the matches of a hex id, full or shortened as the pages show
 * it (`0x3ab757`, `0x3ab757…c0de`): accounts by address, models, datasets and datanets by id, and
 * transactions by hash (every indexed event's transaction: issuances, settlements, claims, stakes...).
 * A full id with a single match opens its page.
 */
import { accountLink, dataTable, h, hexLabel, invoiceLink, message } from "../dom.js";
import { bytes32Label, formatCount, parseSearch, shortHex, timeLabel } from "../format.js";
import { graphql } from "../graphql.js";
import type { Route } from "../route.js";

/** Matches listed per kind; the count says when there are more. */
const MATCHES_PER_KIND = 20;

type Match = { kind: string; id: string; href: string; detail: string; link: Node };

type Found<T> = { totalCount: number; items: T[] };

export const datasetHref = (hash: string) => `#/dataset/${hash.toLowerCase()}`;
export const datanetHref = (id: string) => `#/datanet/${id.toLowerCase()}`;

/** Where the search box sends `text`: a page, or this search page. */
export function searchHref(text: string): string {
  const target = parseSearch(text);
  switch (target.kind) {
    case "account":
      return `#/account/${target.address}`;
    case "invoice":
      return `#/invoice/${target.invoiceId}`;
    default:
      return `#/search?q=${encodeURIComponent(text.trim())}`;
  }
}

export async function searchPage(route: Route): Promise<(Node | null)[]> {
  const text = route.query.get("q") ?? "";
  const target = parseSearch(text);
  if (target.kind === "account" || target.kind === "invoice") {
    window.location.replace(searchHref(text));
    return [];
  }
  if (target.kind === "invalid") {
    return [
      h("h1", {}, "Search"),
      message(
        "error",
        target.message,
        h(
          "p",
          {},
          "Examples: 0x70997970c51812dc3a010c7d01b50e0d17dc79c8 (an account), 42 (invoice #42), 0x3ab757 (the start of an id, as the pages show it).",
        ),
      ),
    ];
  }
  const matches = await findHex(target.prefix, target.suffix);
  const full = target.prefix.length === 42 || target.prefix.length === 66;
  if (full && matches.length === 1) {
    window.location.replace(matches[0].href);
    return [];
  }
  const shown = target.suffix ? `${target.prefix}…${target.suffix}` : target.prefix;
  return [
    h("h1", {}, "Search ", h("span", { class: "mono", "data-query": shown }, shown)),
    matches.length === 0
      ? message(
          "info",
          `Nothing indexed on this chain starts with ${target.prefix}${target.suffix ? ` and ends with ${target.suffix}` : ""}: no account, model, dataset, datanet or transaction.`,
        )
      : h(
          "p",
          { class: "muted" },
          `${formatCount(matches.length)} ${matches.length === 1 ? "match" : "matches"}. Ids are matched by their start (and end, when given).`,
        ),
    dataTable<Match>({
      name: "search-results",
      rows: matches,
      limit: 100,
      empty: "No match.",
      rowAttributes: (match) => ({ "data-kind": match.kind, "data-id": match.id }),
      columns: [
        { label: "Kind", kind: "text", value: (match) => match.kind },
        { label: "Id", kind: "text", value: (match) => match.id, cell: (match) => match.link },
        { label: "Details", kind: "text", value: (match) => match.detail },
      ],
    }),
  ];
}

/** Every kind of id that starts with `prefix` (and ends with `suffix`), up to MATCHES_PER_KIND of each. */
async function findHex(prefix: string, suffix: string): Promise<Match[]> {
  const where = (column: string) => ({
    [`${column}_starts_with`]: prefix,
    ...(suffix ? { [`${column}_ends_with`]: suffix } : {}),
  });
  const found = await graphql<{
    accounts: Found<{ address: string; earned: string; invoicesAsCaller: number; invoicesAsContributor: number }>;
    models: Found<{ modelId: string; invoices: number }>;
    datasets: Found<{ datasetHash: string; datanetId: string; invoices: number }>;
    datanets: Found<{ datanetId: string; datasetCount: number; invoices: number }>;
    transactions: Found<{
      txHash: string;
      type: string;
      invoiceId: string | null;
      account: string | null;
      timestamp: string;
    }>;
  }>(
    `query ($chain: Int!, $account: accountFilter, $model: modelFilter, $dataset: datasetFilter, $datanet: datanetFilter, $activity: activityFilter) {
      accounts(where: { AND: [{ chainId: $chain }, $account] }, orderBy: "address", limit: ${MATCHES_PER_KIND}) { totalCount items { address earned invoicesAsCaller invoicesAsContributor } }
      models(where: { AND: [{ chainId: $chain }, $model] }, orderBy: "modelId", limit: ${MATCHES_PER_KIND}) { totalCount items { modelId invoices } }
      datasets(where: { AND: [{ chainId: $chain }, $dataset] }, orderBy: "datasetHash", limit: ${MATCHES_PER_KIND}) { totalCount items { datasetHash datanetId invoices } }
      datanets(where: { AND: [{ chainId: $chain }, $datanet] }, orderBy: "datanetId", limit: ${MATCHES_PER_KIND}) { totalCount items { datanetId datasetCount invoices } }
      transactions: activitys(where: { AND: [{ chainId: $chain }, $activity] }, orderBy: "id", limit: 100) { totalCount items { txHash type invoiceId account timestamp } }
    }`,
    {
      account: where("address"),
      model: where("modelId"),
      dataset: where("datasetHash"),
      datanet: where("datanetId"),
      activity: where("txHash"),
    },
  );
  const matches: Match[] = [
    ...found.accounts.items.map((a) => ({
      kind: "account",
      id: a.address,
      href: `#/account/${a.address}`,
      detail: `${formatCount(a.invoicesAsCaller)} invoices as caller, ${formatCount(a.invoicesAsContributor)} as contributor`,
      link: accountLink(a.address),
    })),
    ...found.models.items.map((m) => ({
      kind: "model",
      id: m.modelId,
      href: `#/models?model=${m.modelId}`,
      detail: `${bytes32Label(m.modelId) ?? ""} ${formatCount(m.invoices)} invoices`.trim(),
      link: h("a", { href: `#/models?model=${m.modelId}`, class: "mono", title: m.modelId }, shortHex(m.modelId, 6)),
    })),
    ...found.datasets.items.map((d) => ({
      kind: "dataset",
      id: d.datasetHash,
      href: datasetHref(d.datasetHash),
      detail: `in ${bytes32Label(d.datanetId) ?? shortHex(d.datanetId, 6)}, ${formatCount(d.invoices)} invoices`,
      link: h(
        "a",
        { href: datasetHref(d.datasetHash), class: "mono", title: d.datasetHash },
        shortHex(d.datasetHash, 6),
      ),
    })),
    ...found.datanets.items.map((n) => ({
      kind: "datanet",
      id: n.datanetId,
      href: datanetHref(n.datanetId),
      detail:
        `${bytes32Label(n.datanetId) ?? ""} ${formatCount(n.datasetCount)} datasets, ${formatCount(n.invoices)} invoices`.trim(),
      link: h("a", { href: datanetHref(n.datanetId), class: "mono", title: n.datanetId }, shortHex(n.datanetId, 6)),
    })),
  ];
  // A transaction emits several events: one match per transaction, naming its events.
  const byTx = new Map<string, typeof found.transactions.items>();
  for (const event of found.transactions.items) byTx.set(event.txHash, [...(byTx.get(event.txHash) ?? []), event]);
  for (const [txHash, events] of [...byTx].slice(0, MATCHES_PER_KIND)) {
    const invoiceId = events.find((e) => e.invoiceId !== null)?.invoiceId ?? null;
    const account = events.find((e) => e.account !== null)?.account ?? null;
    const href = invoiceId ? `#/invoice/${invoiceId}` : account ? `#/account/${account}` : "#/overview";
    matches.push({
      kind: "transaction",
      id: txHash,
      href,
      detail: `${[...new Set(events.map((e) => e.type))].join(", ")} at ${timeLabel(BigInt(events[0].timestamp))}`,
      link: h(
        "span",
        {},
        hexLabel(txHash),
        " → ",
        invoiceId ? invoiceLink(invoiceId) : account ? accountLink(account) : "–",
      ),
    });
  }
  return matches;
}
