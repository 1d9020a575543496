/**
 * `ponder start` for the benchmark: the harness's Ponder (the real binary, so the PID we hold and
 * sample is Ponder's; JSON logs written to a file and parsed for the phases we time), registered
 * for cleanup.
 */
import { type PonderProcess, type StartPonderOptions, startPonder } from "../../harness/ponder.js";
import { track } from "./cleanup.js";

/** Starts Ponder with `env`; it is stopped at the end of the run even if the benchmark fails. */
export async function startBenchPonder(
  env: Record<string, string>,
  options: StartPonderOptions & { logFile: string },
): Promise<PonderProcess> {
  const ponder = await startPonder(env, options);
  const stop = track({
    name: `ponder ${ponder.url}`,
    stop: ponder.stop,
    kill: () => ponder.process.kill("SIGKILL"),
  });
  return { ...ponder, stop };
}
