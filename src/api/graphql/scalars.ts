/**
 * Scalars of the GraphQL API: BigInt (decimal strings out; strings or safe integers in), JSON, and
 * the domain scalars of columns that hold one of a few codes (invoice status, roles, slash reasons,
 * activity types). Domain scalars keep the column's own JSON shape (a string or an integer), so
 * queries written against plain `String`/`Int` keep their answers, but an unknown value such as
 * `status: "Settled"` is refused with the list of valid ones instead of silently matching nothing.
 */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";
import { InvoiceRegistryAbi } from "../../../abis/InvoiceRegistry.js";
import { SettlementEngineAbi } from "../../../abis/SettlementEngine.js";
import { StakeManagerAbi } from "../../../abis/StakeManager.js";

/** Unsigned or signed decimal integer, as BigInt arguments accept it. */
const INTEGER_TEXT = /^-?\d{1,80}$/;

function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && INTEGER_TEXT.test(value)) return BigInt(value);
  throw new GraphQLError(
    `BigInt expects a decimal integer string or a safe integer (|n| <= 2^53 - 1), got ${JSON.stringify(value)?.slice(0, 80)}`,
  );
}

/** Integers of any size: serialized as decimal strings; accepts `"123"` and, when safe, `123`. */
export const GraphQLBigInt = new GraphQLScalarType({
  name: "BigInt",
  description:
    "An integer of any size (OPEN wei, ids, block numbers, unix seconds), written as a decimal string. " +
    'Arguments accept a string ("1000000000000000000") or, up to 2^53 - 1, an integer literal (1000).',
  serialize: (value) => String(value),
  parseValue: toBigInt,
  parseLiteral: (node: ValueNode) => {
    if (node.kind === Kind.STRING) return toBigInt(node.value);
    if (node.kind === Kind.INT) return toBigInt(Number(node.value));
    throw new GraphQLError(`BigInt expects a string or an integer literal, got ${node.kind}`);
  },
});

/** Any JSON value (Ponder's `_meta.status`). */
export const GraphQLJSON = new GraphQLScalarType({
  name: "JSON",
  description: "Any JSON value.",
  serialize: (value) => value,
  parseValue: (value) => value,
});

/** A column whose values are one of a few codes, each with a meaning. */
export type Domain = {
  name: string;
  description: string;
  /** "string" columns hold text codes, "int" columns small integers. */
  base: "string" | "int";
  values: { value: string | number; meaning: string }[];
};

const eventNames = (abi: readonly { type: string; name?: string }[], contract: string) =>
  abi
    .filter((item) => item.type === "event" && item.name !== undefined)
    .map((item) => ({ value: item.name!, meaning: `the ${item.name} event of ${contract}` }));

/** The domains, keyed by name. */
export const DOMAINS: Record<string, Domain> = {
  InvoiceStatus: {
    name: "InvoiceStatus",
    base: "string",
    description: "Where an invoice is in its life.",
    values: [
      { value: "issued", meaning: "issued, not yet paid" },
      { value: "scheduled", meaning: "escrowed for a settlement at `settleAt`" },
      { value: "settled", meaning: "paid, taxed and distributed" },
      { value: "voided", meaning: "cancelled by its provider" },
    ],
  },
  Role: {
    name: "Role",
    base: "int",
    description: "Why an account was credited (a share's role, or the holder's or the treasury's part).",
    values: [
      { value: 0, meaning: "PROTOCOL_TAX: the tax credited to the treasury" },
      { value: 1, meaning: "DATA_PROVIDER" },
      { value: 2, meaning: "MODEL_OPTIMIZER" },
      { value: 3, meaning: "ROUTER" },
      { value: 4, meaning: "HOLDER: the invoice's holder, paid what the shares leave" },
    ],
  },
  SlashReason: {
    name: "SlashReason",
    base: "int",
    description: "Why a stake was slashed.",
    values: [
      { value: 1, meaning: "SLO_BREACH (settlement of an invoice that missed its latency SLO)" },
      { value: 2, meaning: "INVALID_OUTPUT" },
      { value: 3, meaning: "DATA_POISONING" },
      { value: 4, meaning: "ATTRIBUTION_FRAUD" },
      { value: 5, meaning: "DOWNTIME" },
    ],
  },
  VoidReason: {
    name: "VoidReason",
    base: "int",
    description: "Why an invoice was voided.",
    values: [
      { value: 1, meaning: "DUPLICATE" },
      { value: 2, meaning: "SERVICE_FAILED" },
      { value: 3, meaning: "CALLER_DISPUTE" },
    ],
  },
  ActivityType: {
    name: "ActivityType",
    base: "string",
    description: "The name of the indexed event an activity row records.",
    values: [
      ...eventNames(InvoiceRegistryAbi, "InvoiceRegistry"),
      ...eventNames(SettlementEngineAbi, "SettlementEngine"),
      ...eventNames(StakeManagerAbi, "StakeManager"),
    ].filter((entry, i, all) => all.findIndex((other) => other.value === entry.value) === i),
  },
};

/** Which columns hold a domain's codes, as `table.column`. */
export const DOMAIN_COLUMNS: Record<string, string> = {
  "invoice.status": "InvoiceStatus",
  "invoice.voidReason": "VoidReason",
  "invoiceShare.role": "Role",
  "payout.role": "Role",
  "earningsDaily.role": "Role",
  "slash.reason": "SlashReason",
  "activity.type": "ActivityType",
};

/** Refuses a value outside the domain, naming the valid ones. */
export function checkDomainValue(domain: Domain, value: unknown): string | number {
  const match = domain.values.find((entry) => entry.value === value);
  if (match) return match.value;
  const valid = domain.values.map((entry) => JSON.stringify(entry.value)).join(", ");
  throw new GraphQLError(
    `${JSON.stringify(value)?.slice(0, 80)} is not a valid ${domain.name}; expected one of ${valid}`,
  );
}

/** The scalar of a domain: the column's own string or integer, checked against the domain. */
export function domainScalar(domain: Domain): GraphQLScalarType {
  const list = domain.values.map((entry) => `${JSON.stringify(entry.value)}: ${entry.meaning}`).join("; ");
  return new GraphQLScalarType({
    name: domain.name,
    description: `${domain.description} A ${domain.base === "int" ? "integer" : "string"} code, one of ${list}.`,
    serialize: (value) => value,
    parseValue: (value) => checkDomainValue(domain, value),
    parseLiteral: (node: ValueNode) => {
      if (domain.base === "string" && node.kind === Kind.STRING) return checkDomainValue(domain, node.value);
      if (domain.base === "int" && node.kind === Kind.INT) return checkDomainValue(domain, Number(node.value));
      throw new GraphQLError(`${domain.name} expects ${domain.base === "int" ? "an integer" : "a string"} literal`);
    },
  });
}
