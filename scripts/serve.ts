/**
 * `npm run serve`: an API replica (`ponder serve`: GraphQL, SQL, streams, webhooks, dashboard, no
 * indexing) against the database an `npm run start:prod` indexer writes. By default it reads the
 * stable views schema, so it follows every blue/green switch; `--pinned` reads this release's own
 * deployment schema instead (for releases that change the tables: see README, "API replicas").
 */

import { readEnv } from "../config/env.js";
import { runCli } from "./lib/cli.js";
import { deploymentSchema, requirePostgres, runPonder, viewsSchema } from "./lib/prod.js";

const HELP = `usage: npm run serve [-- --pinned] [-- ponder serve options, e.g. --port 42070]

Runs ponder serve on PostgreSQL (DATABASE_URL, required). It reads SERVE_SCHEMA when set, else the
views schema DATABASE_VIEWS_SCHEMA (default: openledger), which start:prod points at the newest
caught-up deployment; with --pinned, this release's deployment schema (what start:prod writes:
DATABASE_SCHEMA, or openledger_v<version>_<commit>).

DATABASE_URL may be a PostgreSQL hot standby: then set PRIMARY_DATABASE_URL for the webhook admin API,
and STANDBY_MAX_LAG_SECONDS (default 30) for the replay lag over which /ready answers 503
(docs/production.md, "Reads past one machine").`;

runCli("serve", async () => {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return;
  }
  requirePostgres();
  const pinned = args.includes("--pinned");
  const rest = args.filter((arg) => arg !== "--pinned");
  const schema = readEnv("SERVE_SCHEMA") ?? (pinned ? deploymentSchema() : viewsSchema());
  console.log(`serve: reading schema "${schema}"`);
  // Ponder's build reads DATABASE_VIEWS_SCHEMA for every command, and refuses a views schema equal to
  // the schema: the replica reads the views schema as its schema, and publishes no views of its own.
  const { DATABASE_VIEWS_SCHEMA: _views, ...env } = process.env;
  await runPonder(["serve", "--schema", schema, ...rest], { ...env, DATABASE_SCHEMA: schema });
});
