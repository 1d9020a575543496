/**
 * patches/ponder+0.17.7.patch, part 5 (docs/ponder-patches.md): Ponder locks its schema with a
 * heartbeat written every 10 s (`_ponder_meta`: `is_locked`, `heartbeat_at`). A process that starts
 * on a locked schema whose heartbeat is less than 25 s old waits until it is (`Schema is locked by a
 * different Ponder app`, `retry_delay` = the heartbeat + 25 s - now), so every restart after a SIGKILL
 * waited up to 25 s. PONDER_DATABASE_HEARTBEAT_TIMEOUT_MS sets that age, and the beat to 2/5 of it.
 */
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, describe, expect, it } from "vitest";
import { PONDER_SCHEMA, type PonderLog, startPonder } from "../harness/ponder.js";
import { type SimulatedChain, simulatedChain } from "./helpers/indexed-chain.js";

const TIMEOUT_MS = 5_000;
/** How far ahead the test dates the lock's heartbeat: the restart then waits, however slow its start. */
const HEARTBEAT_AHEAD_MS = 15_000;

describe("the schema lock's heartbeat (PONDER_DATABASE_HEARTBEAT_TIMEOUT_MS, the heartbeat patch)", () => {
  let chain: SimulatedChain | undefined;
  afterAll(async () => {
    await chain?.stop();
  });

  it("a process that finds the schema locked waits until the heartbeat is the configured age, not 25 s", async () => {
    chain = await simulatedChain(13, 20);
    const dataDir = path.join(chain.workDir, "pglite");
    const env = {
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: dataDir,
      PONDER_DATABASE_HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS),
    };
    const first = await startPonder(env);
    try {
      await first.waitForBlock(chain.head);
    } finally {
      await first.stop();
    }

    // The schema as a live app elsewhere leaves it: locked, with a heartbeat of known time.
    const heartbeatAt = Date.now() + HEARTBEAT_AHEAD_MS;
    const pglite = new PGlite({ dataDir });
    try {
      await pglite.query(
        `UPDATE "${PONDER_SCHEMA}"._ponder_meta
         SET value = value || jsonb_build_object('is_locked', 1, 'heartbeat_at', $1::bigint) WHERE key = 'app'`,
        [heartbeatAt],
      );
    } finally {
      await pglite.close();
    }

    const restarted = await startPonder(env);
    try {
      await restarted.waitForBlock(chain.head);
      const locked = restarted
        .jsonLogs()
        .find((line: PonderLog) => line.msg === "Schema is locked by a different Ponder app");
      expect(locked, restarted.logs().slice(-2_000)).toBeDefined();
      // Ponder logs `retry_delay` = expiry - now, and stamps the line with now: expiry - heartbeat is the age it waits for.
      const waitedFor = (locked?.time ?? 0) + Number(locked?.retry_delay) - heartbeatAt;
      expect(Math.abs(waitedFor - TIMEOUT_MS)).toBeLessThan(1_000);
      expect(restarted.logs()).toMatch(/Detected crash recovery/);
    } finally {
      await restarted.stop();
    }
  });
});
