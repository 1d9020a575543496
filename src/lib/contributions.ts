/**
 * Writes of the contributor and dataset figures (docs/rules.md, "Contributors and datasets"): the
 * invoice's filter fields copied onto its share and contributor rows, and the attribution of a
 * settlement's data-provider OPEN to its dataset uses. Like store.ts, this writes through
 * `context.db`; the arithmetic is in attribution.ts.
 */
import type { Context } from "ponder:registry";
import {
  datanet,
  datanetDaily,
  dataset,
  datasetDaily,
  datasetUse,
  invoiceContributor,
  invoiceShare,
  protocolDaily,
} from "ponder:schema";
import { attributionParts } from "./attribution.js";
import type { Hex } from "./ids.js";
import { bumpDaily } from "./store.js";

/** The invoice fields that `invoiceShare` and `invoiceContributor` keep current. */
export type ContributorView = Partial<Pick<typeof invoiceShare.$inferInsert, "status" | "settledAt">>;

/**
 * Copies a change of the invoice's status (and settlement time) onto each of its `shareCount`
 * share rows and onto its contributor rows, so a contributor's list filters without a join.
 */
export async function updateContributorView(
  context: Context,
  invoiceId: bigint,
  shareCount: number,
  change: ContributorView,
): Promise<void> {
  const chainId = context.chain.id;
  const contributors = new Set<Hex>();
  for (let position = 0; position < shareCount; position++) {
    const share = await context.db.find(invoiceShare, { chainId, invoiceId, position });
    if (!share) continue;
    contributors.add(share.contributor);
    await context.db.update(invoiceShare, { chainId, invoiceId, position }).set(change);
  }
  for (const contributor of contributors) {
    await context.db.update(invoiceContributor, { chainId, invoiceId, contributor }).set(change);
  }
}

/**
 * Adds a share to the contributor's row of the invoice (created with the invoice's filter fields
 * on its first share); true when the row is new, i.e. the invoice is new to the contributor.
 */
export async function addContributorShare(
  context: Context,
  row: Omit<typeof invoiceContributor.$inferInsert, "chainId" | "shares" | "credited">,
): Promise<boolean> {
  let created = true;
  await context.db
    .insert(invoiceContributor)
    .values({ chainId: context.chain.id, ...row, shares: 1 })
    .onConflictDoUpdate((current) => {
      created = false;
      return { shares: current.shares + 1, shareBps: current.shareBps + row.shareBps };
    });
  return created;
}

/** Adds a share's payout to the contributor's row of the invoice. */
export async function creditContributor(
  context: Context,
  invoiceId: bigint,
  contributor: Hex,
  amount: bigint,
): Promise<void> {
  const key = { chainId: context.chain.id, invoiceId, contributor };
  if (!(await context.db.find(invoiceContributor, key))) return;
  await context.db.update(invoiceContributor, key).set((row) => ({ credited: (row.credited ?? 0n) + amount }));
}

/**
 * Attributes a settlement's data-provider OPEN (`dataProviderTotal`, D) to the invoice's
 * `datasetCount` uses by the rule of attributionParts, on `day` (the settlement's): each use's
 * `attributed`, its dataset's and datanet's lifetime and daily figures. With no dataset use, D is
 * the day's `protocolDaily.unattributed`.
 */
export async function attributeSettlement(
  context: Context,
  invoiceId: bigint,
  datasetCount: number,
  dataProviderTotal: bigint,
  day: number,
): Promise<void> {
  const chainId = context.chain.id;
  const parts = attributionParts(dataProviderTotal, datasetCount);
  if (parts.length === 0) {
    await bumpDaily(context, protocolDaily, { day }, { unattributed: dataProviderTotal });
    return;
  }
  for (const [position, attributed] of parts.entries()) {
    const use = await context.db.find(datasetUse, { chainId, invoiceId, position });
    if (!use) continue;
    await context.db.update(datasetUse, { chainId, invoiceId, position }).set({ attributed });
    const { datasetHash, datanetId } = use;
    await context.db
      .update(dataset, { chainId, datasetHash })
      .set((row) => ({ attributed: row.attributed + attributed }));
    await context.db
      .insert(datanet)
      .values({ chainId, datanetId, attributed })
      .onConflictDoUpdate((row) => ({ attributed: row.attributed + attributed }));
    await bumpDaily(context, datasetDaily, { datasetHash, day }, { attributed });
    await bumpDaily(context, datanetDaily, { datanetId, day }, { attributed });
  }
}

/**
 * Counts a dataset use at issuance (on `day`): in the dataset's and datanet's lifetime and daily
 * figures, the invoice and its tokens once per dataset and once per datanet (`firstOfDataset`,
 * `firstOfDatanet`: no earlier position of the invoice names them).
 */
export async function countDatasetUse(
  context: Context,
  use: { datasetHash: Hex; datanetId: Hex; version: number },
  tokens: bigint,
  day: number,
  firstOfDataset: boolean,
  firstOfDatanet: boolean,
): Promise<void> {
  const chainId = context.chain.id;
  const { datasetHash, datanetId, version } = use;
  const datasetInvoices = firstOfDataset ? 1 : 0;
  const datasetTokens = firstOfDataset ? tokens : 0n;
  let newDataset = true;
  await context.db
    .insert(dataset)
    .values({ chainId, datasetHash, datanetId, version, invoices: datasetInvoices, tokens: datasetTokens })
    .onConflictDoUpdate((row) => {
      newDataset = false;
      return { datanetId, version, invoices: row.invoices + datasetInvoices, tokens: row.tokens + datasetTokens };
    });
  const datanetInvoices = firstOfDatanet ? 1 : 0;
  const datanetTokens = firstOfDatanet ? tokens : 0n;
  const datasets = newDataset ? 1 : 0;
  await context.db
    .insert(datanet)
    .values({ chainId, datanetId, datasetCount: datasets, invoices: datanetInvoices, tokens: datanetTokens })
    .onConflictDoUpdate((row) => ({
      datasetCount: row.datasetCount + datasets,
      invoices: row.invoices + datanetInvoices,
      tokens: row.tokens + datanetTokens,
    }));
  await bumpDaily(context, datasetDaily, { datasetHash, day }, { invoices: datasetInvoices, tokens: datasetTokens });
  await bumpDaily(context, datanetDaily, { datanetId, day }, { invoices: datanetInvoices, tokens: datanetTokens });
}
