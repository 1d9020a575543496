/** Clean-ups of the page shown (charts, timers, streams), run when the route changes. */
const cleanups: (() => void)[] = [];

export function onLeave(cleanup: () => void) {
  cleanups.push(cleanup);
}

export function leavePage() {
  for (const cleanup of cleanups.splice(0)) {
    try {
      cleanup();
    } catch (error) {
      console.error("cleanup failed", error);
    }
  }
}
