import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../config/env.js";
import { loadIndexerSettings } from "../config/settings.js";
import { SAMPLE_DEPLOYMENT, writeSampleDeployment } from "./helpers/sample-deployment.js";

const dir = mkdtempSync(path.join(tmpdir(), "openledger-settings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const deployment = SAMPLE_DEPLOYMENT;
const deploymentFile = writeSampleDeployment(dir);

function settingsError(env: NodeJS.ProcessEnv): string {
  try {
    loadIndexerSettings(env, dir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("indexer settings", () => {
  it("reads the deployment file, with PGlite under .ponder by default and local polling", () => {
    const settings = loadIndexerSettings({ DEPLOYMENT_FILE: deploymentFile }, dir);
    expect(settings.chainId).toBe(31337);
    expect(settings.rpcUrls).toEqual(["http://127.0.0.1:8545"]);
    expect(settings.startBlock).toBe(1);
    expect(settings.contracts.StakeManager).toBe("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
    expect(settings.database).toEqual({ kind: "pglite", directory: path.join(dir, ".ponder/pglite") });
    expect(settings.pollingIntervalMs).toBe(200);
    expect(settings.ordering).toBe("multichain");
  });

  it("lets the environment override every field, and DATABASE_URL select PostgreSQL", () => {
    const settings = loadIndexerSettings(
      {
        DEPLOYMENT_FILE: deploymentFile,
        RPC_URL: "https://a.example, https://b.example",
        CHAIN_ID: "8453",
        START_BLOCK: "1200",
        STAKE_MANAGER_ADDRESS: "0x0000000000000000000000000000000000000001",
        DATABASE_URL: "postgresql://u@127.0.0.1:5432/db",
      },
      dir,
    );
    expect(settings.rpcUrls).toEqual(["https://a.example", "https://b.example"]);
    expect(settings.chainId).toBe(8453);
    expect(settings.startBlock).toBe(1200);
    expect(settings.contracts.StakeManager).toBe("0x0000000000000000000000000000000000000001");
    expect(settings.database).toEqual({ kind: "postgres", connectionString: "postgresql://u@127.0.0.1:5432/db" });
    expect(settings.pollingIntervalMs).toBe(1000);
  });

  it("names the setting that is missing or malformed", () => {
    expect(settingsError({})).toMatch(/^DEPLOYMENT_FILE: deployments\/localhost\.json not found/);
    expect(settingsError({ DEPLOYMENT_FILE: path.join(dir, "nope.json") })).toMatch(/DEPLOYMENT_FILE: .*not found/);
    expect(settingsError({ DEPLOYMENT_FILE: deploymentFile, CHAIN_ID: "abc" })).toMatch(
      /^CHAIN_ID="abc": expected an integer >= 1$/,
    );
    expect(settingsError({ DEPLOYMENT_FILE: deploymentFile, START_BLOCK: "-4" })).toMatch(
      /^START_BLOCK="-4": expected an integer >= 0$/,
    );
    expect(settingsError({ DEPLOYMENT_FILE: deploymentFile, RPC_URL: "localhost:8545" })).toMatch(
      /^RPC_URL="localhost:8545": expected http\(s\):\/\/ or ws\(s\):\/\/ URLs, comma-separated$/,
    );
    expect(settingsError({ DEPLOYMENT_FILE: deploymentFile, INVOICE_REGISTRY_ADDRESS: "0x12" })).toMatch(
      /^INVOICE_REGISTRY_ADDRESS="0x12": expected a 0x-prefixed 20-byte hex address$/,
    );
    expect(settingsError({ DEPLOYMENT_FILE: deploymentFile, DATABASE_URL: "mysql://u:secret@db/x" })).toBe(
      'DATABASE_URL="mysql://u:***@db/x": expected a postgres:// or postgresql:// URL',
    );
    // Read by the patched Ponder, checked here: a typo is an error, not Ponder's default in silence.
    expect(settingsError({ DEPLOYMENT_FILE: deploymentFile, PONDER_RPC_INITIAL_RPS: "fast" })).toMatch(
      /^PONDER_RPC_INITIAL_RPS="fast": expected a number > 0$/,
    );
    expect(settingsError({ DEPLOYMENT_FILE: deploymentFile, PONDER_DATABASE_HEARTBEAT_TIMEOUT_MS: "500" })).toBe(
      'PONDER_DATABASE_HEARTBEAT_TIMEOUT_MS="500": expected an integer >= 1000',
    );
    const broken = path.join(dir, "broken.json");
    writeFileSync(broken, JSON.stringify({ ...deployment, contracts: { ...deployment.contracts, OpenToken: "nope" } }));
    expect(settingsError({ DEPLOYMENT_FILE: broken })).toMatch(/contracts\.OpenToken must be/);
  });

  describe("several chains", () => {
    const chainEntry = (name: string, chainId: number, extra: Record<string, unknown> = {}) => ({
      name,
      chainId,
      rpcUrls: [`http://127.0.0.1:${chainId - 30000}`, `http://127.0.0.2:${chainId - 30000}`],
      startBlock: Math.max(0, chainId - 31337),
      contracts: deployment.contracts,
      ...extra,
    });
    const multiFile = (content: unknown) => {
      const file = path.join(dir, `multi-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify(content));
      return file;
    };

    it("reads a list of chains: each with its URLs, start block, addresses and rate limit", () => {
      const file = multiFile({
        chains: [chainEntry("home", 31337, { requestsPerSecond: 25 }), chainEntry("l2", 31338)],
      });
      const settings = loadIndexerSettings({ DEPLOYMENT_FILE: file, RPC_REQUESTS_PER_SECOND: "100" }, dir);
      expect(
        settings.chains.map((chain) => [chain.name, chain.chainId, chain.startBlock, chain.requestsPerSecond]),
      ).toEqual([
        ["home", 31337, 0, 25],
        ["l2", 31338, 1, 100],
      ]);
      expect(settings.chains[1]?.rpcUrls).toEqual(["http://127.0.0.1:1338", "http://127.0.0.2:1338"]);
      expect(settings.chains[1]?.contracts.StakeManager).toBe("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
      // The first chain stays available under the single-chain names.
      expect([settings.chainId, settings.startBlock]).toEqual([31337, 0]);
    });

    it("keeps a single-chain file one chain named openledger, with RPC_REQUESTS_PER_SECOND", () => {
      const settings = loadIndexerSettings({ DEPLOYMENT_FILE: deploymentFile, RPC_REQUESTS_PER_SECOND: "2.5" }, dir);
      expect(settings.chains).toEqual([
        expect.objectContaining({
          name: "openledger",
          chainId: 31337,
          rpcUrls: ["http://127.0.0.1:8545"],
          requestsPerSecond: 2.5,
        }),
      ]);
      expect(
        loadIndexerSettings({ DEPLOYMENT_FILE: deploymentFile }, dir).chains[0]?.requestsPerSecond,
      ).toBeUndefined();
    });

    it("names the bad field of a chain, and refuses single-chain variables with a list", () => {
      const bad = (chains: unknown, env: NodeJS.ProcessEnv = {}) =>
        settingsError({ DEPLOYMENT_FILE: multiFile({ chains }), ...env });
      expect(bad([])).toMatch(/^DEPLOYMENT_FILE: .*: chains must be a non-empty array$/);
      expect(bad([chainEntry("home", 1), chainEntry("home", 2)])).toMatch(/chains\[1\]\.name "home" is used twice/);
      expect(bad([chainEntry("home", 1), chainEntry("l2", 1)])).toMatch(/chains\[1\]\.chainId 1 is used twice/);
      expect(bad([chainEntry("my-chain", 1)])).toMatch(/chains\[0\]\.name must be letters, digits and _/);
      expect(bad([chainEntry("home", 1, { rpcUrls: [] })])).toMatch(/chains\[0\]\.rpcUrls must be a non-empty array/);
      expect(bad([chainEntry("home", 1, { rpcUrls: ["http://a", "localhost:8545"] })])).toMatch(
        /chains\[0\]\.rpcUrls\[1\] must be an http\(s\) or ws\(s\) URL/,
      );
      expect(bad([chainEntry("home", 1, { requestsPerSecond: 0 })])).toMatch(
        /chains\[0\]\.requestsPerSecond must be a positive number/,
      );
      expect(bad([chainEntry("home", 1, { contracts: { ...deployment.contracts, InvoiceRegistry: "0x12" } })])).toMatch(
        /chains\[0\]\.contracts\.InvoiceRegistry must be a 0x-prefixed 20-byte address/,
      );
      expect(bad([chainEntry("home", 1, { startBlock: -1 })])).toMatch(
        /chains\[0\]\.startBlock must be a non-negative integer/,
      );
      expect(bad([chainEntry("home", 1)], { RPC_URL: "http://x" })).toMatch(
        /^RPC_URL describes one chain, but DEPLOYMENT_FILE lists chains: set it per chain in the file$/,
      );
      expect(bad([chainEntry("home", 1)], { ORDERING: "isolated" })).toMatch(
        /^ORDERING="isolated": expected one of multichain, omnichain, experimental_isolated$/,
      );
      expect(bad([chainEntry("home", 1)], { RPC_REQUESTS_PER_SECOND: "fast" })).toMatch(
        /^RPC_REQUESTS_PER_SECOND="fast": expected a number > 0$/,
      );
      // Each message is one line.
      expect(bad([chainEntry("home", 1, { rpcUrls: "http://a" })])).not.toContain("\n");
    });
  });
});
