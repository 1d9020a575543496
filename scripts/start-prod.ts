/**
 * `npm run start:prod`: the indexer in production (README, "Zero-downtime redeploys"). Runs
 * `ponder start` on PostgreSQL into a schema named for this release, with `--views-schema` so that
 * Ponder repoints the stable views schema at this release once its backfill is complete.
 */
import { runCli } from "./lib/cli.js";
import { applyMemoryBudget, describeMemoryBudget, memoryBudget } from "./lib/memory-budget.js";
import { checkViewsSchemaFree, deploymentSchema, requirePostgres, runPonder, viewsSchema } from "./lib/prod.js";

const HELP = `usage: npm run start:prod [-- ponder start options, e.g. --port 42069]

Runs ponder start on PostgreSQL (DATABASE_URL, required) into the deployment schema
DATABASE_SCHEMA (default: openledger_v<version>_<commit>, the commit from GIT_SHA or git), and
publishes views of its tables in DATABASE_VIEWS_SCHEMA (default: openledger) once the backfill is
complete. Memory budget: a V8 heap of INDEXER_MAX_HEAP_MB (default 352) and a Ponder cache of
PONDER_CACHE_BYTES (default 32 MiB), which keep a backfill under ~600 MB of RSS; INDEXER_MAX_HEAP_MB=off
leaves both to Node and Ponder. SIGTERM or Ctrl-C stops Ponder; the exit status is Ponder's.`;

runCli("start:prod", async () => {
  const extra = process.argv.slice(2);
  if (extra.includes("--help") || extra.includes("-h")) {
    console.log(HELP);
    return;
  }
  const url = requirePostgres();
  const schema = deploymentSchema();
  const views = viewsSchema();
  if (schema === views) {
    throw new Error(`DATABASE_SCHEMA and DATABASE_VIEWS_SCHEMA are both "${schema}": the deployment needs its own`);
  }
  await checkViewsSchemaFree(url, views);
  const budget = memoryBudget();
  console.log(
    `start:prod: deployment schema "${schema}", views schema "${views}", memory ${describeMemoryBudget(budget)}`,
  );
  await runPonder(
    ["start", "--schema", schema, "--views-schema", views, ...extra],
    applyMemoryBudget({ ...process.env, DATABASE_SCHEMA: schema, DATABASE_VIEWS_SCHEMA: views }, budget),
  );
});
