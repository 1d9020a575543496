/**
 * `npm run build:contracts`: compiles contracts/ with solc-js and writes abis/<Contract>.ts and
 * artifacts/<Contract>.json. `--check` writes nothing and exits 1 when a committed file is stale.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { compileContracts, generatedFiles, ROOT } from "./lib/compile.js";

const check = process.argv.includes("--check");
const started = Date.now();
const files = generatedFiles(compileContracts());
const stale: string[] = [];
for (const [relative, text] of Object.entries(files)) {
  const file = path.join(ROOT, relative);
  const current = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  if (current === text) continue;
  if (check) {
    stale.push(relative);
    continue;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${relative}`);
}
if (stale.length > 0) {
  console.error(`stale generated files (run npm run build:contracts): ${stale.join(", ")}`);
  process.exit(1);
}
console.log(`contracts compiled in ${((Date.now() - started) / 1000).toFixed(1)}s`);
