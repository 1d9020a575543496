/**
 * `npm run docs:config`: writes docs/configuration.md from the declarations in config/env.ts
 * (test/configuration-doc.test.ts fails until it is run after a declaration changes).
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { configurationDoc } from "../config/env-docs.js";
import { runCli } from "./lib/cli.js";
import { ROOT } from "./lib/compile.js";

/** Where the generated page lives. */
export const CONFIGURATION_DOC = path.join(ROOT, "docs/configuration.md");

runCli("docs:config", async () => {
  writeFileSync(CONFIGURATION_DOC, configurationDoc());
  console.log(`wrote ${path.relative(ROOT, CONFIGURATION_DOC)}`);
});
