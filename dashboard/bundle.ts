/**
 * The dashboard's bundle as the API serves it (index.html, app.js, app.css with their content types
 * and ETags), read from what `npm run build:dashboard` wrote, and the sources' modification time that
 * tells the API to rebuild. No esbuild here: the API imports this module in production too, and the
 * build tool (./build.ts) only where esbuild is installed.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
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

export function fileOf(name: string, contents: Uint8Array): DashboardFile {
  const body = new Uint8Array(contents);
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
  return { body, contentType: CONTENT_TYPES[path.extname(name)] ?? "application/octet-stream", etag };
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
