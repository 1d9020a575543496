import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseDeploymentChains } from "../config/deployment.js";
import { ENV } from "../config/env.js";
import { configurationDoc, MULTI_CHAIN_EXAMPLE, SINGLE_CHAIN_EXAMPLE } from "../config/env-docs.js";
import { ROOT } from "../scripts/lib/compile.js";

describe("docs/configuration.md", () => {
  it("is what config/env.ts declares (run `npm run docs:config` after changing a declaration)", () => {
    const committed = readFileSync(path.join(ROOT, "docs/configuration.md"), "utf8");
    // One row per variable first, for a short message when a declaration was added or renamed.
    const documented = [...committed.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((match) => match[1]);
    expect(documented, "docs/configuration.md is out of date: run npm run docs:config").toEqual(Object.keys(ENV));
    expect(committed === configurationDoc(), "docs/configuration.md is out of date: run npm run docs:config").toBe(
      true,
    );
  });

  it("shows deployment files of both shapes that the indexer accepts as they are", () => {
    const single = parseDeploymentChains(SINGLE_CHAIN_EXAMPLE, "single");
    expect(single.map((chain) => [chain.name, chain.chainId, chain.rpcUrls])).toEqual([
      ["openledger", 31337, ["http://127.0.0.1:8545"]],
    ]);
    const multi = parseDeploymentChains(MULTI_CHAIN_EXAMPLE, "multi");
    expect(multi.map((chain) => [chain.name, chain.chainId, chain.rpcUrls.length, chain.requestsPerSecond])).toEqual([
      ["home", 8453, 2, 25],
      ["l2", 10, 1, undefined],
    ]);
  });
});
