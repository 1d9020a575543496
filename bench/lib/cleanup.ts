/**
 * Every child process of the benchmark (anvil, ponder, postgres) is registered here, so that it is
 * stopped even when the run fails, is interrupted (Ctrl-C, SIGTERM) or throws from anywhere.
 * `stop` is the graceful path (awaited by try/finally); `kill` the synchronous last resort run from
 * the process's `exit` handler, where nothing asynchronous can happen any more.
 */
export type Resource = {
  name: string;
  stop: () => Promise<void>;
  kill: () => void;
};

const resources = new Set<Resource>();
let installed = false;

function killAll() {
  for (const resource of [...resources].reverse()) {
    try {
      resource.kill();
    } catch {
      // best effort: the process is exiting
    }
  }
  resources.clear();
}

function install() {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, stopping child processes`);
      void stopAll().finally(() => process.exit(130));
      // A second signal, or a stop that hangs, still exits (the exit handler kills what is left).
      setTimeout(() => process.exit(130), 15_000).unref();
    });
  }
}

/** Registers a resource; the returned function stops it (once) and unregisters it. */
export function track(resource: Resource): () => Promise<void> {
  install();
  resources.add(resource);
  let stopping: Promise<void> | null = null;
  return () => {
    stopping ??= (async () => {
      try {
        await resource.stop();
      } finally {
        resources.delete(resource);
      }
    })();
    return stopping;
  };
}

/** Stops every registered resource, newest first. */
export async function stopAll(): Promise<void> {
  for (const resource of [...resources].reverse()) {
    try {
      await resource.stop();
    } catch (error) {
      console.error(`bench: stopping ${resource.name} failed: ${(error as Error).message}`);
      try {
        resource.kill();
      } catch {
        // ignore
      }
    }
    resources.delete(resource);
  }
}

/** Runs `body` with a resource and stops the resource afterwards, whatever happens. */
export async function using<T extends { stop: () => Promise<void> }, R>(
  resource: T,
  body: (resource: T) => Promise<R>,
): Promise<R> {
  try {
    return await body(resource);
  } finally {
    await resource.stop();
  }
}
