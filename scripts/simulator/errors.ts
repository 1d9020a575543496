/**
 * Bad input from the user (flags, files, an unreachable or unsuitable chain): the CLI prints the
 * message alone and exits with status 2. The message says what to do.
 */
export class SimulatorInputError extends Error {
  override name = "SimulatorInputError";
}

/**
 * The simulator's mirror of the contracts disagrees with the chain (a revert, a log that differs,
 * a view that differs): a bug in the simulator or the contracts, never something to shrug off,
 * since the ledger is the oracle of the indexer's tests.
 */
export class SimulatorMismatchError extends Error {
  override name = "SimulatorMismatchError";
}
