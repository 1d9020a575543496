/** Waiting for a signal (a value, a log line, an HTTP answer) with a deadline, never a bare sleep. */

export type WaitOptions = {
  /** Milliseconds between two checks; default 100. */
  intervalMs?: number;
  /** Gives up at once with this reason (e.g. the process being waited on has exited). */
  failIf?: () => string | undefined;
};

/**
 * Polls `check` until it returns a value other than undefined, null or false and returns that value. A
 * check that throws counts as "not yet"; after `timeoutMs` the error names `what` and the last
 * error thrown.
 */
export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
  options: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const failure = options.failIf?.();
    if (failure !== undefined) throw new Error(`gave up waiting for ${what}: ${failure}`);
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const last = lastError === undefined ? "" : ` (last error: ${(lastError as Error).message ?? lastError})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}
