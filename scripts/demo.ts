/**
 * `npm run demo`: the whole system on this machine, no network. Starts anvil (a block a second),
 * deploys the contracts, runs the simulator at a steady rate in the background, starts the indexer
 * on PGlite and prints the GraphQL URL with example queries. Ctrl-C stops every child.
 *
 * Each run starts clean: a new chain, so the demo's PGlite directory is removed first (the data
 * of a chain that no longer exists would be wrong, not resumable).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, readEnv } from "../config/env.js";
import { stopProcess } from "../harness/process.js";
import { ROOT } from "./lib/compile.js";
import { startDevnet } from "./lib/devnet.js";
import { simulate } from "./simulator/index.js";

const EXAMPLES = [
  [
    "Newest invoices",
    `{ invoices(orderBy: "invoiceId", orderDirection: "desc", limit: 5) { items { invoiceId status amount caller holder } } }`,
  ],
  [
    "Latest slashes",
    `{ slashs(orderBy: "id", orderDirection: "desc", limit: 5) { items { staker reason amount invoiceId txHash } } }`,
  ],
  [
    "Protocol per day",
    `{ protocolDailys(orderBy: "day", orderDirection: "desc") { items { day invoices gross tax refunds slashed } } }`,
  ],
];

/** Simulated days in the demo's hour of traffic. */
const DEMO_DAYS = 600;

function usage(message: string): never {
  console.error(`demo: ${message}\nusage: npm run demo [-- --port 42069] [--rate 3] [--seed 1]`);
  process.exit(2);
}

async function main() {
  let values: { port?: string; rate?: string; seed?: string };
  try {
    ({ values } = parseArgs({
      options: { port: { type: "string" }, rate: { type: "string" }, seed: { type: "string" } },
    }));
  } catch (error) {
    usage((error as Error).message);
  }
  let port: number;
  let adminToken: string | undefined;
  try {
    port = values.port === undefined ? readEnv("DEMO_PORT") : Number(values.port);
    adminToken = readEnv("WEBHOOK_ADMIN_TOKEN");
  } catch (error) {
    if (error instanceof ConfigError) usage(error.message);
    throw error;
  }
  const rate = Number(values.rate ?? 3);
  const seed = Number(values.seed ?? 1);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) usage(`--port ${values.port} is not a port number`);
  if (!(rate > 0)) usage(`--rate ${values.rate} is not a positive number`);
  if (!Number.isInteger(seed)) usage(`--seed ${values.seed} is not an integer`);

  const started = Date.now();
  const demoDir = path.join(ROOT, ".ponder", "demo");
  rmSync(demoDir, { recursive: true, force: true });
  mkdirSync(demoDir, { recursive: true });

  const children: { stop: () => Promise<void> }[] = [];
  let simulation: Promise<unknown> = Promise.resolve();
  const abort = new AbortController();
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    abort.abort();
    console.log("\nstopping the simulator, the indexer and the chain...");
    // The simulator finishes its round and writes its ledger while the chain is still up.
    await Promise.race([simulation, new Promise((r) => setTimeout(r, 10_000))]);
    for (const child of children.reverse()) await child.stop().catch(() => {});
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  const { anvil, deployment } = await startDevnet({ port: 0, blockTime: 1 });
  children.push(anvil);
  const deploymentFile = path.join(demoDir, "deployment.json");
  writeFileSync(deploymentFile, `${JSON.stringify(deployment, null, 2)}\n`);
  console.log(`chain      ${anvil.rpcUrl} (chain id ${deployment.chainId}, a block a second)`);

  simulation = simulate({
    deployment,
    seed,
    // An hour of traffic that spans DEMO_DAYS of block time: about four simulated hours pass each
    // second, so that within the first minute every kind of event has happened (settlements,
    // slashes, bundles, claims, withdrawals after the cooldown) and the daily tables fill up.
    invoices: Math.round(rate * 3_600),
    days: DEMO_DAYS,
    mode: { rate },
    ledgerPath: path.join(demoDir, "ledger.json"),
    signal: abort.signal,
  }).catch((error: Error) => {
    if (!abort.signal.aborted) console.error(`simulator stopped: ${error.message}`);
  });
  console.log(`simulator  ${rate} invoices/s in the background (seed ${seed})`);
  // The webhook admin API is off without a token: the demo turns it on with one of its own, so
  // that webhooks can be tried at once; WEBHOOK_ADMIN_TOKEN chooses it instead.
  const generated = adminToken === undefined;
  adminToken ??= `demo_${randomBytes(16).toString("hex")}`;
  console.log(
    `webhooks   admin API on, token ${generated ? `${adminToken} (generated for this run; set WEBHOOK_ADMIN_TOKEN to choose one)` : "from WEBHOOK_ADMIN_TOKEN"}`,
  );

  const ponder: ChildProcess = spawn(
    path.join(ROOT, "node_modules/.bin/ponder"),
    ["start", "--port", String(port), "--hostname", "127.0.0.1", "--schema", "public"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        PONDER_TELEMETRY_DISABLED: "true",
        DEPLOYMENT_FILE: deploymentFile,
        PGLITE_DIRECTORY: path.join(demoDir, "pglite"),
        DATABASE_URL: "",
        PORT: String(port),
        WEBHOOK_ADMIN_TOKEN: adminToken,
      },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  children.push({ stop: () => stopProcess(ponder) });
  ponder.once("exit", (code) => {
    if (!stopping) {
      console.error(`the indexer exited (code ${code}); stopping the demo`);
      void shutdown(1);
    }
  });

  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (stopping) return;
    try {
      if ((await fetch(`${url}/ready`)).status === 200) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  const answer = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ invoices(limit: 1) { totalCount } }" }),
  }).then((r) => r.json());
  console.log(`\nindexer ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(answer)}`);
  console.log(`\nGraphQL    ${url}/graphql   (open it in a browser for GraphiQL)`);
  console.log(`SQL        ${url}/sql/*     (@ponder/client)`);
  console.log(`Dashboard  ${url}/dashboard/`);
  console.log(`Webhooks   ${url}/admin/webhooks  (-H 'authorization: Bearer <the token above>')`);
  console.log(`Status     ${url}/status  ${url}/ready  ${url}/metrics\n`);
  for (const [title, query] of EXAMPLES) {
    console.log(
      `# ${title}\ncurl -s ${url}/graphql -H 'content-type: application/json' -d '${JSON.stringify({ query })}'\n`,
    );
  }
  console.log("Ctrl-C stops everything.");
  await simulation;
}

main().catch((error) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});
