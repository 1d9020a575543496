/** Vitest setup file (every config's `setupFiles`): the test process's fetch survives stale keep-alive sockets. */
import { installStaleSocketRetry } from "./http.js";

installStaleSocketRetry();
