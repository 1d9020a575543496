/**
 * Reads the indexer through its own GraphQL endpoint, within the API's limits: at most 1,000 items
 * a list (larger sets are paged with `after`), depth 12, 20 aliases, 2,000 tokens a query.
 */

import { shownChainId } from "./chain.js";

/** A failure the page shows as it is: the message says what went wrong, for a reader. */
export class DashboardError extends Error {
  override name = "DashboardError";
}

/** /graphql of the server that serves the page (the page is at /dashboard/). */
const GRAPHQL_URL = new URL("../graphql", window.location.href).toString();
/** Ponder refuses lists over 1,000 items. */
const PAGE_LIMIT = 1000;

type Answer<T> = { data?: T | null; errors?: { message: string }[] };

/**
 * Runs a query. The chain shown (dashboard/src/chain.ts) is always among the variables, twice:
 * `$chainId: Float!` for singular lookups (`invoice(chainId:, invoiceId:)`, where Ponder types a
 * composite key's integer as Float) and `$chain: Int!` for `where: { chainId: $chain }` filters.
 */
export async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  variables = { chainId: shownChainId(), chain: shownChainId(), ...variables };
  let response: Response;
  try {
    response = await fetch(GRAPHQL_URL, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new DashboardError(`The indexer did not answer at ${GRAPHQL_URL}: is it running?`);
  }
  let answer: Answer<T>;
  try {
    answer = (await response.json()) as Answer<T>;
  } catch {
    throw new DashboardError(`The indexer answered ${response.status} ${response.statusText} without GraphQL data.`);
  }
  if (answer.errors?.length) {
    throw new DashboardError(`The indexer refused a query: ${answer.errors.map((e) => e.message).join("; ")}`);
  }
  if (!answer.data) throw new DashboardError(`The indexer answered ${response.status} without data.`);
  return answer.data;
}

export type Page<T> = {
  items: T[];
  totalCount?: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
};

/**
 * Every row of the shown chain's table that matches `where`, in `orderBy` order, paging 1,000 at a time with the
 * cursor. `table` is the singular name (protocolDaily); the list field is its plural (protocolDailys).
 */
export async function fetchAll<T>(
  table: string,
  fields: string,
  options: { where?: Record<string, unknown>; orderBy: string; orderDirection?: "asc" | "desc" },
): Promise<T[]> {
  const query = `query ($where: ${table}Filter, $after: String) {
    page: ${table}s(where: $where, orderBy: "${options.orderBy}", orderDirection: "${options.orderDirection ?? "asc"}", limit: ${PAGE_LIMIT}, after: $after) {
      items { ${fields} }
      pageInfo { hasNextPage endCursor }
    }
  }`;
  const rows: T[] = [];
  let after: string | null = null;
  for (;;) {
    const where = { chainId: shownChainId(), ...options.where };
    const { page }: { page: Page<T> } = await graphql(query, { where, after });
    rows.push(...page.items);
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return rows;
    after = page.pageInfo.endCursor;
  }
}
