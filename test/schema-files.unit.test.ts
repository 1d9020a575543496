/**
 * The schema is defined in schema/ and re-exported by ponder.schema.ts. Two things Ponder does not
 * check for us: every domain file is re-exported (a file left out silently drops its tables), and
 * the build id follows schema/. Ponder hashes the text of ponder.schema.ts into the build id, not
 * the files it re-exports; the digest of schema/ written there makes every change in schema/ a new
 * build id, so that `ponder start` on a database of the previous schema stops ("previously used by
 * a different Ponder app") instead of resuming into tables of the old shape.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SCHEMA_DIR = path.join(ROOT, "schema");
/** Shared column helpers: imported by the domain files, not tables of their own. */
const HELPERS = ["columns.ts"];

const schemaFiles = readdirSync(SCHEMA_DIR)
  .filter((name) => name.endsWith(".ts"))
  .sort();
const entry = readFileSync(path.join(ROOT, "ponder.schema.ts"), "utf8");

/** sha256 of the names and contents of schema/*.ts, in name order (first 16 hex digits). */
function schemaDigest(): string {
  const hash = createHash("sha256");
  for (const name of schemaFiles) {
    hash.update(`${name}\n`);
    hash.update(readFileSync(path.join(SCHEMA_DIR, name)));
    hash.update("\n");
  }
  return hash.digest("hex").slice(0, 16);
}

describe("ponder.schema.ts", () => {
  it("re-exports every domain file of schema/", () => {
    const reExported = [...entry.matchAll(/^export \* from "\.\/schema\/([\w-]+)\.js";$/gm)].map((m) => `${m[1]}.ts`);
    const domains = schemaFiles.filter((name) => !HELPERS.includes(name));
    expect([...reExported].sort()).toEqual(domains);
  });

  it("carries the digest of schema/, so that Ponder's build id changes with it", () => {
    const written = entry.match(/^\/\/ schema\/ digest: ([0-9a-f]{16})$/m)?.[1];
    const expected = schemaDigest();
    if (written !== expected) {
      expect.fail(`schema/ changed: set the line in ponder.schema.ts to "// schema/ digest: ${expected}"`);
    }
  });
});
