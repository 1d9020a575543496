/**
 * Bundles the dashboard (dashboard/src, TypeScript for the browser, with uPlot and its CSS) into
 * three files: index.html, app.js and app.css. Nothing is fetched from a network at run time: the
 * chart library is in app.js, its stylesheet in app.css, and the page uses system fonts.
 *
 * The API builds in memory, on the first request to /dashboard (src/api/dashboard.ts), so what it
 * serves is always the source's current state; `npm run build:dashboard` writes the same files to
 * generated/dashboard/ for static hosting, and the API serves that folder when esbuild is absent.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** dashboard/, where this file is. */
export const DASHBOARD_DIR = path.dirname(fileURLToPath(import.meta.url));
/** Where `npm run build:dashboard` writes the bundle (gitignored, like the rest of generated/). */
export const GENERATED_DASHBOARD_DIR = path.resolve(DASHBOARD_DIR, "../generated/dashboard");

export type DashboardFile = { body: Uint8Array<ArrayBuffer>; contentType: string; etag: string };
/** The bundle: file name (index.html, app.js, app.css) to contents. */
export type DashboardBundle = { files: Map<string, DashboardFile>; builtAt: number };

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

function fileOf(name: string, contents: Uint8Array): DashboardFile {
  const body = new Uint8Array(contents);
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
  return { body, contentType: CONTENT_TYPES[path.extname(name)] ?? "application/octet-stream", etag };
}

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

/** Reads a bundle written by `npm run build:dashboard`; undefined when there is none. */
export function readBuiltDashboard(dir = GENERATED_DASHBOARD_DIR): DashboardBundle | undefined {
  try {
    const files = new Map<string, DashboardFile>();
    for (const name of ["index.html", "app.js", "app.css"])
      files.set(name, fileOf(name, readFileSync(path.join(dir, name))));
    return { files, builtAt: statSync(path.join(dir, "app.js")).mtimeMs };
  } catch {
    return undefined;
  }
}

/** The newest modification time of the dashboard's sources (index.html, src/**), to rebuild after an edit. */
export function sourcesModifiedAt(): number {
  let newest = statSync(path.join(DASHBOARD_DIR, "index.html")).mtimeMs;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  walk(path.join(DASHBOARD_DIR, "src"));
  return newest;
}

// `npm run build:dashboard` (tsx dashboard/build.ts): writes generated/dashboard/.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files } = await buildDashboard(GENERATED_DASHBOARD_DIR);
  const sizes = [...files].map(([name, file]) => `${name} ${(file.body.length / 1024).toFixed(1)} KiB`);
  console.log(`dashboard built in ${path.relative(process.cwd(), GENERATED_DASHBOARD_DIR)}/: ${sizes.join(", ")}`);
}
