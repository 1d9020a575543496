/**
 * The analysts' dashboard at /dashboard: one page (index.html, app.js, app.css) that reads the
 * indexer's own /graphql and /streams/slashes, so it needs no other service and no network.
 *
 * The bundle is built in memory with esbuild on the first request (about 0.2 s) rather than
 * committed: what is served is always the source's current state, and no test has to catch a stale
 * bundle. After an edit of dashboard/ the next page load rebuilds it. Where esbuild is not installed
 * (a production install without dev dependencies), the bundle written by `npm run build:dashboard`
 * to generated/dashboard/ is served instead.
 */
import { createRequire } from "node:module";
import { Hono } from "hono";
import { type DashboardBundle, readBuiltDashboard, sourcesModifiedAt } from "../../dashboard/bundle.js";

/**
 * Scripts, styles and data from this server only: the page must work with no network, and a
 * request elsewhere would be a bug. uPlot sizes its elements with inline styles.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

let building: Promise<DashboardBundle> | undefined;

/** esbuild is a dev dependency: a production install (`npm ci --omit=dev`) has none. */
function esbuildInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve("esbuild");
    return true;
  } catch {
    return false;
  }
}

/** The bundle `npm run build:dashboard` wrote, for an install without esbuild. */
async function prebuiltBundle(): Promise<DashboardBundle> {
  const prebuilt = readBuiltDashboard();
  if (!prebuilt) {
    throw new Error("esbuild is not installed and generated/dashboard/ has no bundle: run `npm run build:dashboard`");
  }
  return prebuilt;
}

/** Builds with esbuild; the build tool is loaded only here, so a production install never imports it. */
async function freshBundle(): Promise<DashboardBundle> {
  const { buildDashboard } = await import("../../dashboard/build.js");
  return buildDashboard();
}

function build(): Promise<DashboardBundle> {
  const started = (esbuildInstalled() ? freshBundle() : prebuiltBundle()).catch((error: Error) => {
    if (building === started) building = undefined; // the next request tries again
    throw error;
  });
  building = started;
  return started;
}

/**
 * The current bundle; rebuilt when the page is loaded after an edit of its sources. One build at a
 * time: the first request to notice an edit starts it and the others wait for it.
 */
async function currentBundle(loadingPage: boolean): Promise<DashboardBundle> {
  const pending = building ?? build();
  const bundle = await pending;
  if (!loadingPage || !sourcesChanged(bundle)) return bundle;
  return building === pending ? build() : (building ?? build());
}

function sourcesChanged(bundle: DashboardBundle): boolean {
  try {
    return sourcesModifiedAt() > bundle.builtAt;
  } catch {
    return false; // no sources beside a prebuilt bundle
  }
}

const dashboard = new Hono();

// Relative asset URLs in index.html need the trailing slash.
dashboard.get("/", (c) => c.redirect(`${c.req.path}/`, 301));

dashboard.get("/*", async (c) => {
  // The path below the mount point ("/dashboard/*"): "" for the page itself.
  const name = c.req.path.slice(c.req.routePath.length - 1) || "index.html";
  let bundle: DashboardBundle;
  try {
    bundle = await currentBundle(name === "index.html");
  } catch (error) {
    console.error(`dashboard build failed: ${(error as Error).message}`);
    return c.text(`The dashboard could not be built: ${(error as Error).message}`, 500);
  }
  const file = bundle.files.get(name);
  if (!file)
    return c.json({ error: `No dashboard file ${c.req.path}: the page is at ${c.req.routePath.slice(0, -1)}` }, 404);
  const headers = {
    "content-type": file.contentType,
    "cache-control": "no-cache",
    etag: file.etag,
    "x-content-type-options": "nosniff",
    "content-security-policy": CONTENT_SECURITY_POLICY,
  };
  if (c.req.header("if-none-match") === file.etag) return c.body(null, 304, headers);
  return c.body(file.body, 200, headers);
});

export default dashboard;
