/**
 * docs/configuration.md, rendered from the declarations in config/env.ts and the deployment file's
 * format in config/deployment.ts. `npm run docs:config` writes it; test/configuration-doc.test.ts
 * fails when the committed file differs, and checks that the example files below are accepted.
 */
import { ENV, type EnvName, GROUPS, type Group } from "./env.js";

const CONTRACTS = {
  OpenToken: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  StakeManager: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  InvoiceRegistry: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
  SettlementEngine: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
};

/** A single-chain deployment file, as `npm run devnet` writes one. */
export const SINGLE_CHAIN_EXAMPLE = {
  chainId: 31337,
  rpcUrl: "http://127.0.0.1:8545",
  startBlock: 1,
  contracts: CONTRACTS,
  owner: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  treasury: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
};

/** A deployment file of two chains. */
export const MULTI_CHAIN_EXAMPLE = {
  chains: [
    {
      name: "home",
      chainId: 8453,
      rpcUrls: ["https://rpc.example-l2.org", "https://backup-rpc.example-l2.org"],
      startBlock: 21000000,
      contracts: CONTRACTS,
      requestsPerSecond: 25,
    },
    { name: "l2", chainId: 10, rpcUrl: "https://rpc.example-op.org", startBlock: 130000000, contracts: CONTRACTS },
  ],
};

const cell = (value: string) => value.replace(/\|/g, "\\|");

function defaultCell(name: EnvName): string {
  const spec = ENV[name];
  if (spec.defaultText !== undefined) return spec.defaultText;
  return spec.default === undefined ? "unset" : `\`${spec.default}\``;
}

function groupTable(group: Group): string {
  const rows = (Object.keys(ENV) as EnvName[])
    .filter((name) => ENV[name].group === group)
    .map((name) => {
      const spec = ENV[name];
      return `| \`${name}\` | ${cell(spec.kind.expected)} | ${cell(defaultCell(name))} | ${cell(spec.description)} |`;
    });
  return [
    `### ${GROUPS[group]}`,
    "",
    "| variable | value | default | what it does |",
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
}

const json = (value: unknown) => ["```json", JSON.stringify(value, null, 2), "```"].join("\n");

/** The whole of docs/configuration.md. */
export function configurationDoc(): string {
  const sections = [
    "# Configuration",
    "",
    "<!-- Generated from config/env.ts and config/env-docs.ts by `npm run docs:config`: edit those, not this file (test/configuration-doc.test.ts compares them). -->",
    "",
    "The indexer reads a deployment file (where the contracts are) and the environment variables below,",
    "which override the file. Every variable is declared once, in `config/env.ts`, and parsed the same",
    "way: blanks around a value are ignored, an empty value is the same as an unset one (its default),",
    "and a malformed value stops the program at start with one line that names the variable, the value",
    "and what is expected:",
    "",
    "```text",
    'Configuration error: CHAIN_ID="zero": expected an integer >= 1',
    "```",
    "",
    "`ponder start` (`npm start`, `npm run start:prod`), `ponder dev` and `ponder serve` check every",
    "variable of the indexer and of its HTTP API when they load `ponder.config.ts`, and exit with status 2",
    "on the first bad one; the scripts (`start:prod`, `serve`, `devnet`, `demo`) check theirs the same way.",
    "",
    "## The deployment file",
    "",
    "`DEPLOYMENT_FILE` (default `deployments/localhost.json`, which `npm run devnet` writes) names it.",
    "It has one of two shapes (`config/deployment.ts` reads both; an error names the file and the field).",
    "",
    "**One chain**: the chain's id, its JSON-RPC URL, the block to start from (the contracts'",
    "deployment block) and the four contract addresses; `owner` and `treasury` are optional (the",
    "simulator uses them). Its chain is named `openledger` in Ponder, and the single-chain variables",
    "(`RPC_URL`, `CHAIN_ID`, `START_BLOCK` and the four `*_ADDRESS`) override its fields; with all of",
    "them set, no file is needed.",
    "",
    json(SINGLE_CHAIN_EXAMPLE),
    "",
    '**Several chains**: `{ "chains": [...] }`, each entry a chain of the shape above plus a `name`',
    "(Ponder's chain name: letters, digits and `_`, unique in the file), `rpcUrls` (tried in order with",
    "failover; `rpcUrl` also works for one) and an optional `requestsPerSecond` (that chain's RPC rate",
    "limit; `RPC_REQUESTS_PER_SECOND` applies to the chains without one). Chain ids are unique too. The",
    "single-chain variables are refused with such a file: set those fields per chain in the file.",
    "",
    json(MULTI_CHAIN_EXAMPLE),
    "",
    "Every row the indexer writes is keyed by its chain id, so start-up stops when an RPC serves another",
    "chain than the configured one (each provider's `eth_chainId` is asked before its first use):",
    "",
    "```text",
    "Configuration error: CHAIN_ID is 1 but the RPC http://127.0.0.1:8545 serves chain 31337: point the RPC at chain 1, or set the chain id to 31337",
    "```",
    "",
    "## Environment variables",
    "",
    ...(Object.keys(GROUPS) as Group[]).flatMap((group) => [groupTable(group), ""]),
    "A subscription in `WEBHOOKS_FILE` may name a variable of its own with `secretEnv`: the indexer",
    "reads that variable for the subscription's secret, so that the file holds no secret.",
    "",
  ];
  return sections.join("\n");
}
