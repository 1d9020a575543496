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

  it("raised no error in the page and asked nothing of any other server", () => {
    expect(pageErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });
});
