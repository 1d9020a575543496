/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against a real
 * Ponder (PGlite) indexing a simulator run with a fixed seed. What the page shows is checked
 * against GraphQL and against the simulator's ledger (the independent oracle), a slash sent during
 * the test must reach the live feed within seconds, and bad input must be explained on the page.
 * Screenshots of each page go to test-artifacts/dashboard/ (UPDATE_DOCS_SCREENSHOT=1 also copies
 * the overview to docs/dashboard.png).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type Address, createWalletClient, type Hex, http, parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StakeManagerAbi } from "../abis/StakeManager.js";
import { formatPercent } from "../dashboard/src/format.js";
import { type PonderProcess, startPonder } from "../harness/ponder.js";
import { rpc } from "../scripts/lib/anvil.js";
import { ROOT } from "../scripts/lib/compile.js";
import type { Ledger } from "../scripts/simulator/ledger.js";
import { type SimulatedChain, simulatedChain } from "./helpers/indexed-chain.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SEED = 11;
const INVOICES = 400;
const ARTIFACTS = path.join(ROOT, "test-artifacts/dashboard");

const unavailable = existsSync(CHROMIUM)
  ? undefined
  : `no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`;
if (unavailable && process.env.REQUIRE_CHROMIUM) throw new Error(`REQUIRE_CHROMIUM is set but there is ${unavailable}`);
if (unavailable) console.log(`skipping the browser tests: ${unavailable}`);

/** An exact OPEN decimal (as the CSV writes it) back to wei. */
function weiOfOpen(text: string): bigint {
  const [whole, fraction = ""] = text.replace(/^-/, "").split(".");
  const wei = BigInt(whole) * 10n ** 18n + BigInt(fraction.padEnd(18, "0"));
  return text.startsWith("-") ? -wei : wei;
}

const sumWei = (values: (string | null | undefined)[]) => values.reduce((sum, v) => sum + BigInt(v ?? 0), 0n);

describe.skipIf(unavailable !== undefined)("dashboard in Chromium", () => {
  let chain: SimulatedChain;
  let ledger: Ledger;
  let ponder: PonderProcess;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  const pageErrors: string[] = [];
  /** The transactions of the slashes the live-feed tests send, and their stakers. */
  const sentSlashes: { hash: Hex; staker: string }[] = [];
  const foreignRequests: string[] = [];

  /**
   * Does `action` (a click, a search, a goto) and waits until the page it leads to has rendered, or
   * shown its error: the page counts its navigations in `data-navigation`.
   */
  async function navigate(action: () => Promise<unknown>, name: string) {
    const main = page.locator("main");
    const before = (await main.count()) === 0 ? 0 : Number(await main.getAttribute("data-navigation"));
    await action();
    const shown = page.locator(`main[data-page="${name}"][data-state="ready"]`);
    await expect
      .poll(async () => (await shown.count()) === 1 && Number(await shown.getAttribute("data-navigation")) > before, {
        timeout: 20_000,
      })
      .toBe(true);
  }
  const open = (route: string, name: string) => navigate(() => page.goto(`${ponder.url}/dashboard/${route}`), name);
  const weiOf = async (selector: string) =>
    BigInt((await page.locator(selector).first().getAttribute("data-wei")) ?? "x");
  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  /**
   * With UPDATE_DOCS_SCREENSHOT, the top of the page (1280 × 1800, the page's own sticky header in place) to
   * docs/dashboard-<name>.png.
   */
  async function docsShot(name: string) {
    if (!process.env.UPDATE_DOCS_SCREENSHOT) return;
    await page.setViewportSize({ width: 1280, height: 1800 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ROOT, `docs/dashboard-${name}.png`) });
    await page.setViewportSize({ width: 1280, height: 800 });
  }

  async function search(text: string) {
    await page.fill("#search input", text);
    await page.press("#search input", "Enter");
  }
  const searchFor = (text: string, name: string) => navigate(() => search(text), name);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    chain = await simulatedChain(SEED, INVOICES);
    ledger = chain.ledger;
    ponder = await startPonder({
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(chain.workDir, "pglite"),
    });
    await ponder.waitForBlock(chain.head);
    profileDir = mkdtempSync(path.join(tmpdir(), "openledger-chromium-"));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
      timezoneId: "America/New_York", // the page must show UTC whatever the reader's zone
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("request", (request) => {
      const url = request.url();
      if (!url.startsWith(`${ponder.url}/`) && !url.startsWith("blob:") && !url.startsWith("data:")) {
        foreignRequests.push(url);
      }
    });
  });

  afterAll(async () => {
    await context?.close();
    await ponder?.stop();
    await chain?.stop();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  it("is served by the indexer: /dashboard redirects to the page, assets with a same-origin policy", async () => {
    const redirect = await fetch(`${ponder.url}/dashboard`, { redirect: "manual" });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get("location")).toBe("/dashboard/");
    for (const [file, type] of [
      ["", "text/html"],
      ["app.js", "text/javascript"],
      ["app.css", "text/css"],
    ]) {
      const response = await fetch(`${ponder.url}/dashboard/${file}`);
      expect(response.status, file).toBe(200);
      expect(response.headers.get("content-type")).toContain(type);
      expect(response.headers.get("content-security-policy")).toContain("default-src 'self'");
      const etag = response.headers.get("etag") ?? "";
      expect((await fetch(`${ponder.url}/dashboard/${file}`, { headers: { "if-none-match": etag } })).status).toBe(304);
    }
    expect((await fetch(`${ponder.url}/dashboard/nope.js`)).status).toBe(404);
  });

  it("shows the protocol's totals for the range, equal to GraphQL's and to the ledger's", async () => {
    await open("#/overview", "overview");
    const days = Object.values(ledger.protocolDaily);
    const { data } = await ponder.graphql<{
      protocolDailys: { items: Record<"gross" | "paid" | "tax" | "refunds" | "slashed", string>[] };
    }>(`{ protocolDailys(limit: 1000) { items { gross paid tax refunds slashed } } }`);
    const indexed = data?.protocolDailys.items ?? [];
    expect(indexed.length).toBe(days.length);
    for (const key of ["gross", "paid", "tax", "refunds", "slashed"] as const) {
      const shown = await weiOf(`[data-total="${key}"] .open`);
      expect(shown, `${key}: page vs GraphQL`).toBe(sumWei(indexed.map((row) => row[key])));
      expect(shown, `${key}: page vs ledger`).toBe(sumWei(days.map((day) => day[key])));
      expect(await page.locator(`[data-total="${key}"] .open`).getAttribute("title")).toBe(`${shown} wei`);
    }
    const invoices = days.reduce((sum, day) => sum + day.invoices, 0);
    expect(invoices).toBe(INVOICES);
    expect(await page.locator('[data-total="invoices"] .card-value').textContent()).toBe(String(INVOICES));
    const settled = days.reduce((sum, day) => sum + day.settled, 0);
    expect(await page.locator('[data-total="settled"] .card-value').textContent()).toBe(String(settled));
    const modelDays = Object.values(ledger.modelDaily);
    const sloMet = modelDays.reduce((sum, day) => sum + day.sloMet, 0);
    expect(await page.locator('[data-total="slo"] .card-value').textContent()).toBe(formatPercent(sloMet / invoices));
    for (const chart of ["revenue-per-day", "slashed-per-day", "invoices-per-day"]) {
      await expect.poll(() => page.locator(`[data-chart="${chart}"] canvas`).count()).toBe(1);
    }
    await shot("overview");
    if (process.env.UPDATE_DOCS_SCREENSHOT) {
      await page.screenshot({ path: path.join(ROOT, "docs/dashboard.png") });
    }

    // The per-day table's CSV is exact: its gross column adds up to the ledger's, to the wei.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-csv="protocol-daily"]')]);
    expect(download.suggestedFilename()).toBe("protocol-daily.csv");
    const csv = readFileSync((await download.path()) as string, "utf8")
      .trim()
      .split("\r\n");
    const header = csv[0].split(",");
    expect(header).toContain("Gross (OPEN)");
    const grossColumn = header.indexOf("Gross (OPEN)");
    const grossInCsv = csv.slice(1).reduce((sum, line) => sum + weiOfOpen(line.split(",")[grossColumn]), 0n);
    expect(grossInCsv).toBe(sumWei(days.map((day) => day.gross)));

    // A shorter range: the last 7 days of data.
    await navigate(() => page.click('a.preset:has-text("7 days")'), "overview");
    const last = Math.max(...days.map((day) => day.day));
    const week = days.filter((day) => day.day > last - 7);
    expect(page.url()).toContain("from=");
    expect(await weiOf('[data-total="gross"] .open')).toBe(sumWei(week.map((day) => day.gross)));
    expect(await weiOf('[data-total="slashed"] .open')).toBe(sumWei(week.map((day) => day.slashed)));
  });

  it("shows earnings by role and the top earners, equal to the ledger's", async () => {
    await open("#/earnings", "earnings");
    const rows = Object.values(ledger.earningsDaily);
    for (const role of [0, 1, 2, 3, 4]) {
      expect(await weiOf(`[data-total="role-${role}"] .open`), `role ${role}`).toBe(
        sumWei(rows.filter((row) => row.role === role).map((row) => row.amount)),
      );
    }
    const byAccount = new Map<string, bigint>();
    for (const row of rows) byAccount.set(row.account, (byAccount.get(row.account) ?? 0n) + BigInt(row.amount));
    const [topAccount, topAmount] = [...byAccount].sort((a, b) => (a[1] > b[1] ? -1 : a[1] < b[1] ? 1 : 0))[0];
    const firstRow = page.locator('[data-table="top-earners"] tbody tr').first();
    expect((await firstRow.locator("a").first().getAttribute("title"))?.toLowerCase()).toBe(topAccount);
    expect(await weiOf('[data-table="top-earners"] tbody tr:first-child td:nth-child(2) .open')).toBe(topAmount);
    await expect.poll(() => page.locator('[data-chart="earnings-per-day"] canvas').count()).toBe(1);
    await shot("earnings");

    // Clicking an earner opens its account page.
    await navigate(() => firstRow.locator("a").first().click(), "account");
    expect(await page.locator("[data-address]").getAttribute("data-address")).toBe(topAccount);
    expect(await weiOf('[data-total="earned"] .open')).toBe(BigInt(ledger.accounts[topAccount as Hex].earned));
  });

  it("ranks models with the ledger's figures and draws one model's days", async () => {
    await open("#/models", "models");
    const rows = page.locator('[data-table="models"] tbody tr');
    expect(await rows.count()).toBe(Object.keys(ledger.models).length);
    for (let i = 0; i < (await rows.count()); i++) {
      const row = rows.nth(i);
      const modelId = (await row.locator("td:nth-child(1) a").getAttribute("title"))?.toLowerCase() as Hex;
      const expected = ledger.models[modelId];
      expect(expected, modelId).toBeDefined();
      expect(await row.locator("td:nth-child(3)").textContent()).toBe(expected.invoices.toLocaleString("en-US"));
      expect(await row.locator("td:nth-child(5) .open").getAttribute("data-wei")).toBe(expected.gross);
    }
    const top = (await rows.first().locator("td:nth-child(1) a").getAttribute("title"))?.toLowerCase();
    expect(await page.locator("[data-model]").getAttribute("data-model")).toBe(top);
    for (const chart of ["model-invoices", "model-open", "model-latency"]) {
      await expect.poll(() => page.locator(`[data-chart="${chart}"] canvas`).count()).toBe(1);
    }
    await shot("models");
  });

  it("clicks through an account (searched, paged) and an invoice's whole story", async () => {
    // The account with the most invoices as provider: more than one page of them.
    const [address, account] = Object.entries(ledger.accounts).sort(
      (a, b) => b[1].invoicesAsProvider - a[1].invoicesAsProvider,
    )[0] as [Hex, Ledger["accounts"][Hex]];
    const involved = Object.values(ledger.invoices)
      .filter((i) => [i.caller, i.provider, i.holder].some((party) => party.toLowerCase() === address))
      .map((i) => i.invoiceId);
    expect(involved.length).toBeGreaterThan(25);

    await open("#/overview", "overview");
    await searchFor(address.toUpperCase().replace("0X", "0x"), "account");
    expect(page.url()).toContain(`#/account/${address}`);
    for (const key of ["earned", "claimed", "claimable", "stake", "pendingUnstake", "slashed"] as const) {
      expect(await weiOf(`[data-total="${key}"] .open`), key).toBe(BigInt(account[key]));
    }
    const seen: string[] = [];
    const invoiceIds = () =>
      page.locator('[data-table="account-invoices"] tbody tr td:first-child a').allTextContents();
    seen.push(...(await invoiceIds()));
    expect(seen.length).toBe(25);
    const pages = Math.ceil(involved.length / 25);
    const status = page.locator(".page-status");
    expect(await status.textContent()).toBe(`Page 1 of ${pages} · ${involved.length} invoices`);
    for (let n = 2; n <= pages; n++) {
      await page.click('[data-page="next"]');
      await expect.poll(() => status.textContent()).toMatch(new RegExp(`^Page ${n} of ${pages}`));
      seen.push(...(await invoiceIds()));
    }
    expect(await page.locator('[data-page="next"]').isDisabled()).toBe(true);
    const ids = seen.map((text) => text.replace("#", ""));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...involved].sort());
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => b - a));
    await page.click('[data-page="previous"]');
    await expect.poll(() => status.textContent()).toMatch(new RegExp(`^Page ${pages - 1} of ${pages}`));
    await shot("account");

    // An invoice with shares and a settlement: its story matches the ledger.
    const settled = Object.values(ledger.invoices).find(
      (i) => i.status === "settled" && i.shares.length > 0 && i.provider.toLowerCase() === address,
    );
    expect(settled).toBeDefined();
    const invoice = settled as NonNullable<typeof settled>;
    await searchFor(`#${invoice.invoiceId}`, "invoice");
    expect(await page.locator("h1[data-invoice]").getAttribute("data-invoice")).toBe(invoice.invoiceId);
    expect(await page.locator("h1 .badge").textContent()).toBe("settled");
    const fact = (label: string) => page.locator(`.facts div:has(dt:text-is("${label}")) dd .open`).first();
    expect(await fact("Amount").getAttribute("data-wei")).toBe(invoice.amount);
    expect(await fact("Paid").getAttribute("data-wei")).toBe(invoice.paid);
    expect(await fact("Tax").getAttribute("data-wei")).toBe(invoice.tax);
    expect(await fact("Holder's payout").getAttribute("data-wei")).toBe(invoice.holderCredited);
    expect(await page.locator('[data-table="invoice-shares"] tbody tr').count()).toBe(invoice.shares.length);
    expect(await page.locator('[data-table="invoice-datasets"] tbody tr').count()).toBe(
      Math.max(1, invoice.datasets.length),
    );
    expect(await page.locator('[data-table="invoice-payouts"] tbody tr').count()).toBe(invoice.shares.length + 1);
    expect(await page.locator(".checks li.bad").count()).toBe(0);
    await shot("invoice");

    // And back to the caller's account from the story.
    await navigate(() => page.locator(`.facts div:has(dt:text-is("Caller")) dd a`).click(), "account");
    expect(await page.locator("[data-address]").getAttribute("data-address")).toBe(invoice.caller.toLowerCase());
  });

  it("explains bad input on the page instead of a blank screen", async () => {
    await open("#/overview", "overview");
    const alert = page.locator('main [role="alert"]');
    for (const [input, expected] of [
      ["0xzz", /not hex/],
      ["0x1234", /has 4 hex digits/],
      ["hello", /neither an address .* nor an invoice id/],
      ["0", /start at 1/],
      ["0x000000000000000000000000000000000000dEaD", /No account 0x0{36}dead in the index/],
      ["999999", /Invoice #999999 does not exist: ids run from #1 to #400/],
    ] as const) {
      await search(input);
      await expect.poll(() => alert.first().textContent(), { timeout: 10_000 }).toMatch(expected);
      if (input === "0xzz") await shot("bad-search");
    }
    await open("#/account/not-an-address", "account");
    expect(await alert.textContent()).toMatch(/is not an address/);
    await open("#/invoice/12abc", "invoice");
    expect(await alert.textContent()).toMatch(/is not an invoice id/);
    await open("#/models?model=0x12", "models");
    expect(await alert.textContent()).toMatch(/is not a model id/);
    await open("#/overview?from=2026-02-31", "overview");
    expect(await alert.textContent()).toMatch(/is not a date/);
    await open("#/nowhere", "nowhere");
    expect(await alert.textContent()).toMatch(/no page “nowhere”/);
  });

  it.each([
    ["stream", "#/slashes", 5, "Downtime"],
    ["polling", "#/slashes?via=polling", 2, "Invalid output"],
  ] as const)(
    "shows a slash sent during the test in the live feed within seconds (%s)",
    async (mode, route, reason, name) => {
      await open(route, "slashes");
      const status = page.locator("[data-live-status]");
      await expect.poll(() => status.getAttribute("data-live-status"), { timeout: 10_000 }).toBe(mode);
      const rows = page.locator('[data-table="live-slashes"] tbody tr');
      const { data } = await ponder.graphql<{ slashs: { totalCount: number } }>("{ slashs { totalCount } }");
      const before = data?.slashs.totalCount ?? -1;
      expect(await rows.count()).toBe(Math.min(100, before));

      const [staker] = Object.entries(ledger.accounts).find(([, a]) => BigInt(a.stake) >= parseEther("2")) ?? [];
      expect(staker).toBeDefined();
      const owner = (await rpc<Address[]>(chain.anvil.rpcUrl, "eth_accounts"))[0];
      const wallet = createWalletClient({ account: owner, transport: http(chain.anvil.rpcUrl) });
      const sent = Date.now();
      const hash = await wallet.writeContract({
        address: chain.deployment.contracts.StakeManager,
        abi: StakeManagerAbi,
        functionName: "slash",
        args: [staker as Address, 0n, reason, parseEther("1"), `0x${"ee".repeat(32)}`],
        chain: null,
      });
      // Past the 30 unfinalized blocks, should a reader wait for finality.
      await rpc(chain.anvil.rpcUrl, "anvil_mine", ["0x20"]);
      sentSlashes.push({ hash, staker: staker as string });
      const row = page.locator(`[data-table="live-slashes"] tbody tr:has(span[title="${hash}"])`);
      await row.waitFor({ timeout: 15_000 });
      const seconds = (Date.now() - sent) / 1000;
      console.log(`[dashboard] the slash reached the live feed (${mode}) in ${seconds.toFixed(1)} s`);
      expect(seconds).toBeLessThan(10);
      expect(await rows.count()).toBe(Math.min(100, before + 1));
      expect(await rows.first().getAttribute("data-row")).toBe(await row.getAttribute("data-row"));
      expect(await row.locator("td:nth-child(3)").textContent()).toBe(name);
      expect(await row.locator("td:nth-child(4) .open").getAttribute("data-wei")).toBe(parseEther("1").toString());
      expect(await row.locator("td:nth-child(6)").textContent()).toBe("–");
      expect((await row.locator("td:nth-child(2) a").getAttribute("title"))?.toLowerCase()).toBe(staker);
      expect(await status.getAttribute("data-live-status")).toBe(mode);
      await shot(`slashes-${mode}`);

      // A slash for an invoice links to it.
      const linked = page.locator('[data-table="live-slashes"] tbody tr td:nth-child(6) a').first();
      const target = await linked.textContent();
      await navigate(() => linked.click(), "invoice");
      expect(`#${await page.locator("h1[data-invoice]").getAttribute("data-invoice")}`).toBe(target);
    },
  );

  /** Clicks a table's CSV button and returns the file's header and rows (fields split on commas: no quoted fields here). */
  async function downloadCsv(table: string): Promise<{ header: string[]; rows: string[][] }> {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(`[data-csv="${table}"]`)]);
    expect(download.suggestedFilename()).toBe(`${table}.csv`);
    const lines = readFileSync((await download.path()) as string, "utf8")
      .trim()
      .split("\r\n");
    return { header: lines[0].split(","), rows: lines.slice(1).map((line) => line.split(",")) };
  }
  /** The wei sum of a CSV column of OPEN amounts. */
  const csvSum = (csv: { header: string[]; rows: string[][] }, column: string) => {
    const index = csv.header.indexOf(column);
    expect(index, column).toBeGreaterThanOrEqual(0);
    return csv.rows.reduce((sum, row) => sum + weiOfOpen(row[index]), 0n);
  };
  /** The first day of a day's ISO week (Monday) and its month ("YYYY-MM"), computed here apart from the page's code. */
  const mondayOf = (day: number) => day - ((new Date(day * 86_400_000).getUTCDay() + 6) % 7);
  const monthOf = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 7);
  const isoDay = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

  it("shows a data provider's contributor tab: invoices by status, payouts, earnings by week, a statement", async () => {
    // The data provider named by the most invoices.
    const [address, account] = Object.entries(ledger.accounts)
      .filter(([, a]) => BigInt(a.earnedAsDataProvider) > 0n)
      .sort((a, b) => b[1].invoicesAsContributor - a[1].invoicesAsContributor)[0] as [Hex, Ledger["accounts"][Hex]];
    const named = Object.values(ledger.invoices).filter((i) => i.shares.some((s) => s.contributor === address));
    expect(named.length).toBe(account.invoicesAsContributor);
    expect(named.length).toBeGreaterThan(25);

    await open(`#/account/${address}?tab=contributor`, "account");
    expect(await page.locator('[data-total="invoicesAsContributor"] .card-value').textContent()).toBe(
      named.length.toLocaleString("en-US"),
    );
    const earnedAs = [
      account.earnedAsTreasury,
      account.earnedAsDataProvider,
      account.earnedAsModelOptimizer,
      account.earnedAsRouter,
      account.earnedAsHolder,
    ];
    for (const role of [0, 1, 2, 3, 4]) {
      expect(await weiOf(`[data-total="earnedAs-${role}"] .open`), `role ${role}`).toBe(BigInt(earnedAs[role]));
    }

    // Its invoices as contributor, once each, all pages; the CSV has every one with its credited sum.
    const status = page.locator(".page-status");
    expect(await status.textContent()).toBe(`Page 1 of ${Math.ceil(named.length / 25)} · ${named.length} invoices`);
    const contributions = await downloadCsv("contributor-invoices");
    const ids = contributions.rows.map((row) => row[contributions.header.indexOf("Invoice")]);
    expect([...ids].sort()).toEqual(named.map((i) => i.invoiceId).sort());
    const credited = named.reduce(
      (sum, i) => sum + sumWei(i.shares.filter((s) => s.contributor === address).map((s) => s.credited)),
      0n,
    );
    expect(csvSum(contributions, "Credited (OPEN)")).toBe(credited);
    // Filtered by status: the settled ones.
    await navigate(() => page.click('[data-status="settled"]'), "account");
    const settled = named.filter((i) => i.status === "settled");
    expect(await status.textContent()).toMatch(new RegExp(`^Page 1 of \\d+ · ${settled.length} invoices$`));
    const statuses = await page.locator('[data-table="contributor-invoices"] tbody .badge').allTextContents();
    expect(new Set(statuses)).toEqual(new Set(["settled"]));

    // Payouts: every credit of roles 1..4 to it, to the wei.
    const credits = ledger.credits.filter((c) => c.account === address);
    const payouts = await downloadCsv("contributor-payouts");
    expect(payouts.rows.length).toBe(credits.filter((c) => c.role > 0).length);
    expect(csvSum(payouts, "Amount (OPEN)")).toBe(sumWei(credits.filter((c) => c.role > 0).map((c) => c.amount)));

    // Earned by role per ISO week: each week's total equals the ledger's earningsDaily summed here.
    await navigate(() => page.click('[data-interval="week"]'), "account");
    await expect.poll(() => page.locator('[data-chart="contributor-earnings"] canvas').count()).toBe(1);
    const weekly = await downloadCsv("contributor-earnings-week");
    const expectedWeeks = new Map<string, bigint>();
    for (const row of Object.values(ledger.earningsDaily).filter((r) => r.account === address)) {
      const week = `week of ${isoDay(mondayOf(row.day))}`;
      expectedWeeks.set(week, (expectedWeeks.get(week) ?? 0n) + BigInt(row.amount));
    }
    const shownWeeks = new Map(
      weekly.rows
        .map((row) => [row[0], weiOfOpen(row[weekly.header.indexOf("Total (OPEN)")])] as const)
        .filter(([, total]) => total > 0n),
    );
    expect(shownWeeks).toEqual(expectedWeeks);
    await shot("contributor");
    await docsShot("contributor");

    // The statement of the whole run: its lines and closing balance are the ledger's.
    const first = Math.min(...credits.map((c) => Math.floor(c.timestamp / 86_400)));
    const last = Math.floor((ledger.meta.endTimestamp ?? 0) / 86_400);
    await page.fill('input[name="statement-from"]', isoDay(first));
    await page.fill('input[name="statement-to"]', isoDay(last));
    const link = page.locator('[data-statement="csv"]');
    expect(await link.getAttribute("href")).toContain(`from=${first * 86_400}&to=${(last + 1) * 86_400}&format=csv`);
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`${address}.*\\.csv$`));
    const lines = readFileSync((await download.path()) as string, "utf8")
      .trim()
      .split("\n");
    const amountOf = (line: string) => weiOfOpen(line.split(",").at(-1) as string);
    expect(amountOf(lines[1])).toBe(0n); // opening, before its first credit
    expect(lines.filter((line) => line.startsWith("credit,")).length).toBe(credits.length);
    const claims = ledger.claims.filter((c) => c.account === address);
    expect(lines.filter((line) => line.startsWith("claim,")).length).toBe(claims.length);
    expect(amountOf(lines.at(-1) as string)).toBe(BigInt(account.claimable));
    // A period the statement refuses is explained and not linked.
    await page.fill('input[name="statement-from"]', isoDay(last + 1));
    expect(await link.getAttribute("href")).toBeNull();
    expect(await page.locator(".statement-problem").textContent()).toMatch(/starts after it ends/);
  });

  it("opens a dataset from an invoice, and its datanet: totals, days, weeks and models equal the ledger's", async () => {
    const [hash, dataset] = Object.entries(ledger.datasets).sort((a, b) => b[1].invoices - a[1].invoices)[0] as [
      Hex,
      Ledger["datasets"][Hex],
    ];
    const listing = Object.values(ledger.invoices).filter((i) => i.datasets.some((d) => d.datasetHash === hash));
    expect(listing.length).toBe(dataset.invoices);
    await open(`#/invoice/${listing[0].invoiceId}`, "invoice");
    await navigate(() => page.locator(`[data-table="invoice-datasets"] a[title="${hash}"]`).first().click(), "dataset");
    expect(await page.locator("[data-dataset]").getAttribute("data-dataset")).toBe(hash);
    expect(await page.locator('[data-total="invoices"] .card-value').textContent()).toBe(
      dataset.invoices.toLocaleString("en-US"),
    );
    expect(await page.locator('[data-total="tokens"] .card-value').textContent()).toBe(
      dataset.tokens.toLocaleString("en-US"),
    );
    expect(await weiOf('[data-total="attributed"] .open')).toBe(BigInt(dataset.attributed));
    const days = Object.values(ledger.datasetDaily).filter((d) => d.datasetHash === hash);
    const daily = await downloadCsv("dataset-periods");
    const shownDays = new Map(
      daily.rows
        .filter((row) => row[1] !== "0" || weiOfOpen(row[3]) > 0n)
        .map((row) => [row[0], `${row[1]}|${row[2]}|${weiOfOpen(row[3])}`]),
    );
    expect(shownDays).toEqual(
      new Map(
        days
          .filter((d) => d.invoices > 0 || BigInt(d.attributed) > 0n)
          .map((d) => [isoDay(d.day), `${d.invoices}|${d.tokens}|${BigInt(d.attributed)}`]),
      ),
    );
    await docsShot("dataset");
    // Per month: the same sums.
    await navigate(() => page.click('[data-interval="month"]'), "dataset");
    const monthly = await downloadCsv("dataset-periods");
    for (const [month, total] of Object.entries(
      days.reduce<Record<string, bigint>>((sums, d) => {
        sums[monthOf(d.day)] = (sums[monthOf(d.day)] ?? 0n) + BigInt(d.attributed);
        return sums;
      }, {}),
    )) {
      expect(weiOfOpen(monthly.rows.find((row) => row[0] === month)?.[3] ?? "x"), month).toBe(total);
    }
    // The models whose invoices listed it, with how many.
    const byModel = new Map<string, number>();
    for (const i of listing) byModel.set(i.modelId, (byModel.get(i.modelId) ?? 0) + 1);
    const modelRows = page.locator('[data-table="dataset-models"] tbody tr');
    expect(await modelRows.count()).toBe(byModel.size);
    for (let n = 0; n < byModel.size; n++) {
      const modelId = (await modelRows.nth(n).locator("td:nth-child(1) a").getAttribute("title"))?.toLowerCase() ?? "";
      expect(await modelRows.nth(n).locator("td:nth-child(2)").textContent(), modelId).toBe(
        String(byModel.get(modelId)),
      );
    }
    for (const chart of ["dataset-usage", "dataset-attributed"]) {
      await expect.poll(() => page.locator(`[data-chart="${chart}"] canvas`).count()).toBe(1);
    }
    await shot("dataset");

    // Its datanet.
    const datanetId = dataset.datanetId;
    const datanet = ledger.datanets[datanetId];
    await navigate(() => page.locator(`.facts a[title="${datanetId}"]`).click(), "datanet");
    expect(await page.locator("[data-datanet]").getAttribute("data-datanet")).toBe(datanetId);
    expect(await page.locator('[data-total="invoices"] .card-value').textContent()).toBe(
      datanet.invoices.toLocaleString("en-US"),
    );
    expect(await weiOf('[data-total="attributed"] .open')).toBe(BigInt(datanet.attributed));
    expect(await page.locator('[data-table="datanet-datasets"] tbody tr').count()).toBe(datanet.datasetCount);
    const netDays = Object.values(ledger.datanetDaily).filter((d) => d.datanetId === datanetId);
    const netDaily = await downloadCsv("datanet-periods");
    expect(csvSum(netDaily, "Attributed (OPEN)")).toBe(sumWei(netDays.map((d) => d.attributed)));
    expect(netDaily.rows.reduce((sum, row) => sum + Number(row[1]), 0)).toBe(
      netDays.reduce((sum, d) => sum + d.invoices, 0),
    );
    await shot("datanet");
    await docsShot("datanet");
  });

  it("sums the overview and earnings per week and month, and filters earnings by model", async () => {
    const days = Object.values(ledger.protocolDaily);
    await open("#/overview?interval=week", "overview");
    const weekly = await downloadCsv("protocol-week");
    expect(weekly.rows.length).toBe(new Set(days.map((d) => mondayOf(d.day))).size);
    expect(csvSum(weekly, "Gross (OPEN)")).toBe(sumWei(days.map((d) => d.gross)));
    for (const [label, total] of weekly.rows.map(
      (row) => [row[0], weiOfOpen(row[weekly.header.indexOf("Paid (OPEN)")])] as const,
    )) {
      const monday = days.filter((d) => `week of ${isoDay(mondayOf(d.day))}` === label);
      expect(total, label).toBe(sumWei(monday.map((d) => d.paid)));
    }
    await shot("overview-week");

    await open("#/earnings?interval=month", "earnings");
    const monthly = await downloadCsv("earnings-month");
    const rows = Object.values(ledger.earningsDaily);
    for (const row of monthly.rows) {
      const inMonth = rows.filter((r) => monthOf(r.day) === row[0]);
      expect(weiOfOpen(row[monthly.header.indexOf("Total (OPEN)")]), row[0]).toBe(sumWei(inMonth.map((r) => r.amount)));
    }

    // One model: its invoices' credits of every role, from the ledger's statement lines.
    const [modelId] = Object.entries(ledger.models).sort((a, b) => b[1].invoices - a[1].invoices)[0];
    await navigate(() => page.selectOption('select[name="model"]', modelId), "earnings");
    expect(page.url()).toContain(`model=${modelId}`);
    const ofModel = ledger.credits.filter((c) => c.modelId === modelId);
    expect(ofModel.length).toBeGreaterThan(0);
    for (const role of [0, 1, 2, 3, 4]) {
      expect(await weiOf(`[data-total="role-${role}"] .open`), `role ${role}`).toBe(
        sumWei(ofModel.filter((c) => c.role === role).map((c) => c.amount)),
      );
    }
    await shot("earnings-model");
  });

  it("finds shortened ids as the pages show them, and lists every match", async () => {
    const [hash] = Object.keys(ledger.datasets) as Hex[];
    // The first 6 hex digits of a dataset, as the invoice page shows it.
    const prefix = hash.slice(0, 8);
    await open("#/overview", "overview");
    await searchFor(prefix, "search");
    const listed = async (kind: string) =>
      (await page
        .locator(`[data-table="search-results"] tbody tr[data-kind="${kind}"]`)
        .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-id")))) as string[];
    const starting = (ids: string[]) => ids.filter((id) => id.startsWith(prefix)).sort();
    expect((await listed("dataset")).sort()).toEqual(starting(Object.keys(ledger.datasets)));
    expect((await listed("account")).sort()).toEqual(starting(Object.keys(ledger.accounts)));
    expect((await listed("model")).sort()).toEqual(starting(Object.keys(ledger.models)));
    expect((await listed("datanet")).sort()).toEqual(starting(Object.keys(ledger.datanets)));
    await shot("search");
    // All models share the start of "model-…" in hex: every one is listed.
    const models = Object.keys(ledger.models);
    const modelPrefix = models[0].slice(0, 10);
    await searchFor(modelPrefix, "search");
    expect((await listed("model")).sort()).toEqual(models.filter((m) => m.startsWith(modelPrefix)).sort());
    // An account shortened with its end: that account only.
    const address = Object.keys(ledger.accounts)[0];
    await searchFor(`${address.slice(0, 8)}…${address.slice(-4)}`, "search");
    expect(await listed("account")).toEqual([address]);
    // Transactions by hash: the slashes sent above, found by their start; a full hash opens the staker's page.
    expect(sentSlashes.length).toBe(2);
    const [slash] = sentSlashes;
    await searchFor(slash.hash.slice(0, 8), "search");
    expect(await listed("transaction")).toContain(slash.hash);
    await searchFor(slash.hash, "account");
    expect(await page.locator("[data-address]").getAttribute("data-address")).toBe(slash.staker);
    // A full dataset hash opens its page.
    await searchFor(hash, "dataset");
    expect(await page.locator("[data-dataset]").getAttribute("data-dataset")).toBe(hash);
  });

  it("raised no error in the page and asked nothing of any other server", () => {
    expect(pageErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });
});
