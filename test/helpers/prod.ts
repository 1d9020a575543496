import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { type GraphQLAnswer, postGraphql } from "../../harness/http.js";
import { TEST_PONDER_ENV, waitForIndexer } from "../../harness/ponder.js";
import { freePort } from "../../harness/ports.js";
import { collectOutput, stopProcess } from "../../harness/process.js";
import { ROOT } from "../../scripts/lib/compile.js";

/** A production script (`npm run start:prod` or `npm run serve`) running Ponder as its child. */
export type ProdProcess = {
  url: string;
  process: ChildProcess;
  logs: () => string;
  /** Resolves once /ready answers 200 (and, given a block, /status has reached it on every chain). */
  waitReady: (blockNumber?: number, timeoutMs?: number) => Promise<void>;
  graphql: <T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ) => Promise<GraphQLAnswer<T>>;
  /** SIGTERM to the script (which passes it on to Ponder), SIGKILL to the whole group after the grace period. */
  stop: () => Promise<void>;
};

const TSX = path.join(ROOT, "node_modules/.bin/tsx");

/**
 * Runs scripts/start-prod.ts or scripts/serve.ts through tsx, as `npm run` would, on a free port,
 * in a process group of its own so that a stop that has to SIGKILL reaches Ponder too.
 */
export async function startProd(
  script: "start-prod" | "serve",
  env: Record<string, string>,
  args: string[] = [],
): Promise<ProdProcess> {
  const port = await freePort();
  const child = spawn(TSX, [path.join("scripts", `${script}.ts`), "--log-format", "json", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...TEST_PONDER_ENV, ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const logs = collectOutput(child);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    process: child,
    logs,
    waitReady: (blockNumber, timeoutMs) =>
      waitForIndexer({ name: script, url, process: child, logs }, blockNumber, timeoutMs),
    graphql: (query, variables) => postGraphql(url, query, variables),
    // Ponder may outlive a script that was killed: the group stop makes sure nothing of it is left.
    stop: () => stopProcess(child, { group: true }),
  };
}
