import type { Context } from "ponder:registry";
import { activity, anomaly } from "ponder:schema";
import { anomalyRows, type Problem } from "./anomaly.js";
import { type ActivityInput, activityValues, type ContractName, type LoggedEvent } from "./rows.js";

/**
 * What every handler ends with: writes the event's activity row (one per indexed event) and, if the
 * event broke a promise of the contracts, its anomaly rows.
 */
export type Finish = (
  context: Context,
  event: LoggedEvent,
  activityInput: Omit<ActivityInput, "contract">,
  problems?: readonly Problem[],
) => Promise<void>;

/** The `finish` of one contract's handler file: its activity rows name that contract. */
export function finishFor(contract: ContractName): Finish {
  return async (context, event, activityInput, problems = []) => {
    const chainId = context.chain.id;
    await context.db.insert(activity).values({ chainId, ...activityValues(event, { ...activityInput, contract }) });
    if (problems.length > 0) {
      const rows = anomalyRows(event, `${contract}:${activityInput.type}`, problems);
      await context.db.insert(anomaly).values(rows.map((row) => ({ chainId, ...row })));
    }
  };
}
