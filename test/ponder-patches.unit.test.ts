/**
 * The patches in patches/ (docs/ponder-patches.md) are applied by `patch-package` at install time
 * (package.json's postinstall). If an install skipped it, or a package moved to a version the patch
 * was not made for, the indexer would run unpatched without a word: this fails first.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../scripts/lib/compile.js";

const PATCHES = path.join(ROOT, "patches");

/** `ponder+0.17.7.patch` -> { name: "ponder", version: "0.17.7" } (scoped names use `+` for `/`). */
function patchTarget(file: string) {
  const match = /^(.+)\+(\d+\.\d+\.\d+[^+]*)\.patch$/.exec(file);
  if (!match) throw new Error(`patches/${file}: not a patch-package file name`);
  return { name: match[1].replace("+", "/"), version: match[2] };
}

describe("patches/ are applied to node_modules", () => {
  const files = readdirSync(PATCHES).filter((file) => file.endsWith(".patch"));

  it("there is a patch, for the version installed", () => {
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const { name, version } = patchTarget(file);
      const installed = JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8"));
      expect(installed.version, `patches/${file} is for ${name}@${version}`).toBe(version);
    }
  });

  it("every line a patch adds is in the installed file", () => {
    for (const file of files) {
      let target = "";
      const missing: string[] = [];
      const contents = new Map<string, string>();
      for (const line of readFileSync(path.join(PATCHES, file), "utf8").split("\n")) {
        if (line.startsWith("+++ b/")) {
          target = line.slice("+++ b/".length);
          contents.set(target, readFileSync(path.join(ROOT, target), "utf8"));
        } else if (line.startsWith("+") && line.trim() !== "+" && target) {
          if (!contents.get(target)?.includes(line.slice(1))) missing.push(`${target}: ${line.slice(1).trim()}`);
        }
      }
      expect(missing, `patches/${file} is not applied (npm ci runs patch-package as postinstall)`).toEqual([]);
    }
  });
});
