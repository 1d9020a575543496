import type { Context } from "ponder:registry";
import { activity, anomaly } from "ponder:schema";
import { anomalyRows, type Problem } from "./anomaly.js";
import { type ActivityInput, activityValues, type ContractName, type LoggedEvent } from "./rows.js";

/**
 * What every handler ends with: the event's activity row (one per indexed event) and, if the event
 * broke a promise of the contracts, its anomaly rows. Shared by the three contracts' handler files.
 */
export async function recordEvent(
  context: Context,
  event: LoggedEvent,
  contract: ContractName,
  activityInput: Omit<ActivityInput, "contract">,
  problems: readonly Problem[] = [],
): Promise<void> {
  const chainId = context.chain.id;
  await context.db.insert(activity).values({ chainId, ...activityValues(event, { ...activityInput, contract }) });
  if (problems.length > 0) {
    const rows = anomalyRows(event, `${contract}:${activityInput.type}`, problems);
    await context.db.insert(anomaly).values(rows.map((row) => ({ chainId, ...row })));
  }
}
