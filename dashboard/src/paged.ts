/** A table of one page of a GraphQL list at a time, turned with the `after` cursor; its CSV has every row. */
import { type Column, dataTable, h, message } from "./dom.js";
import { formatCount } from "./format.js";
import { fetchAll, graphql, type Page } from "./graphql.js";

export type PagedTableOptions<R> = {
  /** `data-table` and CSV name. */
  name: string;
  /** The singular table name (`invoice`); the list is its plural. */
  table: string;
  fields: string;
  where: Record<string, unknown>;
  orderBy: string;
  orderDirection: "asc" | "desc";
  columns: Column<R>[];
  perPage: number;
  /** What the rows are, for "Page 1 of 3 · 60 invoices". */
  noun: string;
  empty: string;
  /** Labels of the buttons to the previous and the next page. */
  previousLabel?: string;
  nextLabel?: string;
};

/** Shows the first page; "previous" and "next" buttons (`data-page`) turn it. */
export async function pagedTable<R>(options: PagedTableOptions<R>): Promise<HTMLElement> {
  const { where, perPage } = options;
  /** `after` cursors of the pages seen: the last is the page shown. */
  const cursors: (string | null)[] = [null];
  const holder = h("div", { class: "paged" });

  async function show() {
    const after = cursors[cursors.length - 1];
    const { page } = await graphql<{ page: Page<R> }>(
      `query ($where: ${options.table}Filter, $after: String) {
        page: ${options.table}s(where: $where, orderBy: "${options.orderBy}", orderDirection: "${options.orderDirection}", limit: ${perPage}, after: $after) {
          items { ${options.fields} }
          pageInfo { hasNextPage endCursor }
          totalCount
        }
      }`,
      { where, after },
    );
    const pageNumber = cursors.length;
    const pages = Math.max(1, Math.ceil((page.totalCount ?? 0) / perPage));
    const previous = h(
      "button",
      { type: "button", "data-page": "previous", disabled: pageNumber === 1 },
      options.previousLabel ?? "← Previous",
    );
    const next = h(
      "button",
      { type: "button", "data-page": "next", disabled: !page.pageInfo.hasNextPage },
      options.nextLabel ?? "Next →",
    );
    const status = h(
      "span",
      { class: "page-status" },
      `Page ${pageNumber} of ${pages} · ${formatCount(page.totalCount ?? 0)} ${options.noun}`,
    );
    const turn = async (change: () => void) => {
      previous.disabled = next.disabled = true;
      change();
      try {
        await show();
      } catch (error) {
        holder.append(message("error", (error as Error).message));
      }
    };
    previous.addEventListener("click", () => turn(() => cursors.pop()));
    next.addEventListener("click", () => turn(() => cursors.push(page.pageInfo.endCursor)));
    holder.replaceChildren(
      dataTable<R>({
        name: options.name,
        rows: page.items,
        sortable: false,
        empty: options.empty,
        controls: [previous, status, next],
        allRows: () =>
          fetchAll<R>(options.table, options.fields, {
            where,
            orderBy: options.orderBy,
            orderDirection: options.orderDirection,
          }),
        columns: options.columns,
      }),
    );
  }
  await show();
  return holder;
}
