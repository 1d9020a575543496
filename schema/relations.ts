/**
 * How the tables join, for GraphQL's nested fields and Drizzle's relational queries. Every join
 * includes `chainId`: a row only ever points at rows of its own chain.
 */
import { relations } from "ponder";
import { account } from "./accounts.js";
import { datanetDaily, datasetDaily, earningsDaily, modelDaily } from "./daily.js";
import { claim, payout } from "./earnings.js";
import { activity, rateChange } from "./feed.js";
import {
  bundle,
  datanet,
  dataset,
  datasetUse,
  invoice,
  invoiceContributor,
  invoiceShare,
  invoiceTransfer,
  model,
} from "./invoices.js";
import { slash, stakeChange, unstakeRequest } from "./stakes.js";

export const accountRelations = relations(account, ({ many }) => ({
  callerInvoices: many(invoice, { relationName: "caller" }),
  providerInvoices: many(invoice, { relationName: "provider" }),
  heldInvoices: many(invoice, { relationName: "holder" }),
  /** Its shares of invoices, one row per share. */
  shares: many(invoiceShare),
  /** Its invoices as contributor, one row per invoice. */
  contributions: many(invoiceContributor),
  payouts: many(payout),
  claims: many(claim),
  slashes: many(slash),
  stakeChanges: many(stakeChange),
  unstakeRequests: many(unstakeRequest),
  earningsDaily: many(earningsDaily),
  activity: many(activity),
}));

export const modelRelations = relations(model, ({ one, many }) => ({
  providerAccount: one(account, {
    fields: [model.chainId, model.provider],
    references: [account.chainId, account.address],
  }),
  /** Named apart from the `invoices` counter, which GraphQL would otherwise hide. */
  issuedInvoices: many(invoice),
  daily: many(modelDaily),
  rateChanges: many(rateChange),
}));

export const invoiceRelations = relations(invoice, ({ one, many }) => ({
  callerAccount: one(account, {
    fields: [invoice.chainId, invoice.caller],
    references: [account.chainId, account.address],
    relationName: "caller",
  }),
  providerAccount: one(account, {
    fields: [invoice.chainId, invoice.provider],
    references: [account.chainId, account.address],
    relationName: "provider",
  }),
  holderAccount: one(account, {
    fields: [invoice.chainId, invoice.holder],
    references: [account.chainId, account.address],
    relationName: "holder",
  }),
  model: one(model, { fields: [invoice.chainId, invoice.modelId], references: [model.chainId, model.modelId] }),
  bundle: one(bundle, { fields: [invoice.chainId, invoice.bundleId], references: [bundle.chainId, bundle.bundleId] }),
  shares: many(invoiceShare),
  contributors: many(invoiceContributor),
  datasets: many(datasetUse),
  transfers: many(invoiceTransfer),
  payouts: many(payout),
  slashes: many(slash),
  activity: many(activity),
}));

export const invoiceShareRelations = relations(invoiceShare, ({ one }) => ({
  invoice: one(invoice, {
    fields: [invoiceShare.chainId, invoiceShare.invoiceId],
    references: [invoice.chainId, invoice.invoiceId],
  }),
  contributorAccount: one(account, {
    fields: [invoiceShare.chainId, invoiceShare.contributor],
    references: [account.chainId, account.address],
  }),
}));

export const datasetUseRelations = relations(datasetUse, ({ one }) => ({
  invoice: one(invoice, {
    fields: [datasetUse.chainId, datasetUse.invoiceId],
    references: [invoice.chainId, invoice.invoiceId],
  }),
  dataset: one(dataset, {
    fields: [datasetUse.chainId, datasetUse.datasetHash],
    references: [dataset.chainId, dataset.datasetHash],
  }),
}));

export const invoiceContributorRelations = relations(invoiceContributor, ({ one }) => ({
  invoice: one(invoice, {
    fields: [invoiceContributor.chainId, invoiceContributor.invoiceId],
    references: [invoice.chainId, invoice.invoiceId],
  }),
  contributorAccount: one(account, {
    fields: [invoiceContributor.chainId, invoiceContributor.contributor],
    references: [account.chainId, account.address],
  }),
}));

export const datasetRelations = relations(dataset, ({ one, many }) => ({
  uses: many(datasetUse),
  daily: many(datasetDaily),
  datanet: one(datanet, {
    fields: [dataset.chainId, dataset.datanetId],
    references: [datanet.chainId, datanet.datanetId],
  }),
}));

export const datanetRelations = relations(datanet, ({ many }) => ({
  datasets: many(dataset),
  daily: many(datanetDaily),
}));

export const datasetDailyRelations = relations(datasetDaily, ({ one }) => ({
  dataset: one(dataset, {
    fields: [datasetDaily.chainId, datasetDaily.datasetHash],
    references: [dataset.chainId, dataset.datasetHash],
  }),
}));

export const datanetDailyRelations = relations(datanetDaily, ({ one }) => ({
  datanet: one(datanet, {
    fields: [datanetDaily.chainId, datanetDaily.datanetId],
    references: [datanet.chainId, datanet.datanetId],
  }),
}));

export const invoiceTransferRelations = relations(invoiceTransfer, ({ one }) => ({
  invoice: one(invoice, {
    fields: [invoiceTransfer.chainId, invoiceTransfer.invoiceId],
    references: [invoice.chainId, invoice.invoiceId],
  }),
}));

export const bundleRelations = relations(bundle, ({ one, many }) => ({
  ownerAccount: one(account, {
    fields: [bundle.chainId, bundle.owner],
    references: [account.chainId, account.address],
  }),
  members: many(invoice),
}));

export const payoutRelations = relations(payout, ({ one }) => ({
  invoice: one(invoice, {
    fields: [payout.chainId, payout.invoiceId],
    references: [invoice.chainId, invoice.invoiceId],
  }),
  accountRow: one(account, {
    fields: [payout.chainId, payout.account],
    references: [account.chainId, account.address],
  }),
}));

export const claimRelations = relations(claim, ({ one }) => ({
  accountRow: one(account, { fields: [claim.chainId, claim.account], references: [account.chainId, account.address] }),
}));

export const stakeChangeRelations = relations(stakeChange, ({ one }) => ({
  stakerAccount: one(account, {
    fields: [stakeChange.chainId, stakeChange.staker],
    references: [account.chainId, account.address],
  }),
}));

export const unstakeRequestRelations = relations(unstakeRequest, ({ one }) => ({
  stakerAccount: one(account, {
    fields: [unstakeRequest.chainId, unstakeRequest.staker],
    references: [account.chainId, account.address],
  }),
}));

export const slashRelations = relations(slash, ({ one }) => ({
  stakerAccount: one(account, {
    fields: [slash.chainId, slash.staker],
    references: [account.chainId, account.address],
  }),
  invoice: one(invoice, { fields: [slash.chainId, slash.invoiceId], references: [invoice.chainId, invoice.invoiceId] }),
}));

export const rateChangeRelations = relations(rateChange, ({ one }) => ({
  model: one(model, { fields: [rateChange.chainId, rateChange.modelId], references: [model.chainId, model.modelId] }),
}));

export const activityRelations = relations(activity, ({ one }) => ({
  invoice: one(invoice, {
    fields: [activity.chainId, activity.invoiceId],
    references: [invoice.chainId, invoice.invoiceId],
  }),
  accountRow: one(account, {
    fields: [activity.chainId, activity.account],
    references: [account.chainId, account.address],
  }),
}));

export const earningsDailyRelations = relations(earningsDaily, ({ one }) => ({
  accountRow: one(account, {
    fields: [earningsDaily.chainId, earningsDaily.account],
    references: [account.chainId, account.address],
  }),
}));

export const modelDailyRelations = relations(modelDaily, ({ one }) => ({
  model: one(model, { fields: [modelDaily.chainId, modelDaily.modelId], references: [model.chainId, model.modelId] }),
}));
