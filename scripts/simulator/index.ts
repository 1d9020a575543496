/** The simulator's public surface, for the CLI, tests, the demo and the benchmark. */
export { SimulatorInputError, SimulatorMismatchError } from "./errors.js";
export type * from "./ledger.js";
export { readLedger, writeLedger } from "./ledger-file.js";
export {
  DEFAULT_DAYS,
  defaultLedgerPath,
  runSimulation,
  type SimulateOptions,
  type SimulationMode,
  type SimulationProgress,
  type SimulationStats,
  simulate,
} from "./simulate.js";
