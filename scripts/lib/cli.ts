import { DeploymentError } from "../../config/deployment.js";
import { readEnv } from "../../config/env.js";

/** A bad flag or flag value: the CLI prints it with a hint and exits with status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Errors a user can fix (flags, files, the chain they point at): one line, exit status 2. */
const INPUT_ERRORS = new Set(["UsageError", "DeploymentError", "ConfigError", "SimulatorInputError"]);

/**
 * Runs a CLI's main and turns errors into exit statuses: bad input prints one line (no stack)
 * and exits 2; anything else prints its message (the stack with DEBUG=1) and exits 1.
 */
export function runCli(program: string, main: () => Promise<void>) {
  main().catch((error: unknown) => {
    const problem = error instanceof Error ? error : new Error(String(error));
    if (problem instanceof DeploymentError || INPUT_ERRORS.has(problem.name)) {
      console.error(`${program}: ${problem.message.split("\n")[0]}`);
      process.exit(2);
    }
    console.error(`${program}: ${readEnv("DEBUG") ? problem.stack : problem.message}`);
    process.exit(1);
  });
}

/** Parses a flag as an integer within bounds, or throws a UsageError naming the flag. */
export function integerFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} ${raw} must be an integer in ${min}..${max}`);
  }
  return value;
}

/** Parses a flag as a positive number, or throws a UsageError naming the flag. */
export function positiveFlag(name: string, raw: string | undefined, fallback: number | undefined): number | undefined {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${name} ${raw} must be a positive number`);
  }
  return value;
}
