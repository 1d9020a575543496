/**
 * The dashboard's entry: hash routes to pages, the search box, and errors shown in the page (a
 * failed query or a bad address is a message, never a blank screen).
 */
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { loadChain } from "./chain.js";
import { h, message } from "./dom.js";
import { DashboardError } from "./graphql.js";
import { leavePage } from "./lifecycle.js";
import { accountPage } from "./pages/account.js";
import { datanetPage, datasetPage } from "./pages/datasets.js";
import { earningsPage } from "./pages/earnings.js";
import { invoicePage } from "./pages/invoice.js";
import { modelsPage } from "./pages/models.js";
import { overviewPage } from "./pages/overview.js";
import { searchHref, searchPage } from "./pages/search.js";
import { slashesPage } from "./pages/slashes.js";
import { currentRoute, hrefWith, type Route } from "./route.js";

type PageRenderer = (route: Route) => Promise<(Node | null)[]>;

const PAGES: Record<string, { title: string; render: PageRenderer }> = {
  overview: { title: "Overview", render: overviewPage },
  earnings: { title: "Earnings", render: earningsPage },
  models: { title: "Models", render: modelsPage },
  account: { title: "Account", render: accountPage },
  invoice: { title: "Invoice", render: invoicePage },
  dataset: { title: "Dataset", render: datasetPage },
  datanet: { title: "Datanet", render: datanetPage },
  slashes: { title: "Live slashes", render: slashesPage },
  search: { title: "Search", render: searchPage },
};
/** Pages that share the day range: their links keep `from` and `to`. */
const RANGED = ["overview", "earnings", "models"];

const main = document.getElementById("main") as HTMLElement;
const searchForm = document.getElementById("search") as HTMLFormElement;
const searchInput = searchForm.elements.namedItem("q") as HTMLInputElement;

let navigation = 0;
/** The chain to show, read once before the first page (dashboard/src/chain.ts). */
const chainLoaded = loadChain();
// Shown by the page that awaits it, not as an unhandled rejection.
chainLoaded.catch(() => undefined);

async function show() {
  const route = currentRoute();
  const name = route.path[0] ?? "overview";
  const page = PAGES[name];
  const token = ++navigation;
  leavePage();
  for (const link of document.querySelectorAll<HTMLAnchorElement>("#nav a")) {
    const target = link.dataset.nav ?? "";
    link.classList.toggle("active", target === name);
    if (RANGED.includes(target)) {
      const from = route.query.get("from") ?? undefined;
      const to = route.query.get("to") ?? undefined;
      link.href = RANGED.includes(name) ? hrefWith(target, new URLSearchParams(), { from, to }) : `#/${target}`;
    }
  }
  document.title = `${page?.title ?? "Not found"} · OpenLedger invoices`;
  searchInput.value = name === "search" ? (route.query.get("q") ?? "") : "";
  main.setAttribute("aria-busy", "true");
  main.dataset.page = name;
  main.dataset.state = "loading";
  main.dataset.navigation = String(token);
  main.replaceChildren(h("p", { class: "muted loading" }, "Loading…"));

  let nodes: (Node | null)[];
  try {
    await chainLoaded;
    nodes = page
      ? await page.render(route)
      : [message("error", `There is no page “${name}”: try the Overview, Earnings, Models or Live slashes.`)];
  } catch (error) {
    const text =
      error instanceof DashboardError
        ? error.message
        : `Something went wrong on this page: ${(error as Error).message}`;
    console.error(error);
    nodes = [message("error", text, h("p", {}, h("a", { href: window.location.hash }, "Try again")))];
  }
  if (token !== navigation) return; // the reader went elsewhere meanwhile
  main.replaceChildren(...nodes.filter((node) => node !== null));
  main.dataset.state = "ready";
  main.removeAttribute("aria-busy");
  window.scrollTo(0, 0);
}

searchForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const href = searchHref(searchInput.value);
  if (window.location.hash === href) void show();
  else window.location.hash = href;
});

// A failure outside a page's loading (a click handler, a timer) still shows up in the page.
const showUnexpected = (text: string) => {
  main.prepend(message("error", `Something went wrong: ${text}`));
};
window.addEventListener("error", (event) => showUnexpected(event.message));
window.addEventListener("unhandledrejection", (event) =>
  showUnexpected(event.reason instanceof Error ? event.reason.message : String(event.reason)),
);

window.addEventListener("hashchange", () => void show());
// Replacing the hash fires hashchange, which shows the page.
if (["", "#", "#/"].includes(window.location.hash)) window.location.replace("#/overview");
else void show();
