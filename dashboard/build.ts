/**
 * Bundles the dashboard (dashboard/src, TypeScript for the browser, with uPlot and its CSS) into
 * three files: index.html, app.js and app.css. Nothing is fetched from a network at run time: the
 * chart library is in app.js, its stylesheet in app.css, and the page uses system fonts.
 *
 * The API builds in memory, on the first request to /dashboard (src/api/dashboard.ts, which loads
 * this module only where esbuild is installed), so what it serves is always the source's current
 * state; `npm run build:dashboard` writes the same files to generated/dashboard/ for static hosting
 * and for installs without esbuild, where the API serves that folder (./bundle.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DASHBOARD_DIR, type DashboardBundle, type DashboardFile, fileOf, GENERATED_DASHBOARD_DIR } from "./bundle.js";

/** Bundles dashboard/ with esbuild; writes the files to `outdir` too when given. */
export async function buildDashboard(outdir?: string): Promise<DashboardBundle> {
  const builtAt = Date.now();
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: { app: path.join(DASHBOARD_DIR, "src/main.ts") },
      bundle: true,
      format: "esm",
      target: "es2022",
      platform: "browser",
      minify: true,
      legalComments: "eof",
      outdir: GENERATED_DASHBOARD_DIR,
      write: false,
      logLevel: "silent",
    });
    const files = new Map<string, DashboardFile>();
    for (const output of result.outputFiles) {
      const name = path.basename(output.path);
      files.set(name, fileOf(name, output.contents));
    }
    files.set("index.html", fileOf("index.html", readFileSync(path.join(DASHBOARD_DIR, "index.html"))));
    if (!files.has("app.js") || !files.has("app.css")) {
      throw new Error(`the dashboard bundle lacks app.js or app.css: ${[...files.keys()].join(", ")}`);
    }
    if (outdir) {
      mkdirSync(outdir, { recursive: true });
      for (const [name, file] of files) writeFileSync(path.join(outdir, name), file.body);
    }
    return { files, builtAt };
  } finally {
    // esbuild keeps a child process for later builds; the API builds rarely, so let it go.
    await esbuild.stop();
  }
}

// `npm run build:dashboard` (tsx dashboard/build.ts): writes generated/dashboard/.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files } = await buildDashboard(GENERATED_DASHBOARD_DIR);
  const sizes = [...files].map(([name, file]) => `${name} ${(file.body.length / 1024).toFixed(1)} KiB`);
  console.log(`dashboard built in ${path.relative(process.cwd(), GENERATED_DASHBOARD_DIR)}/: ${sizes.join(", ")}`);
}
