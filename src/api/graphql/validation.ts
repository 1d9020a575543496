/**
 * Validation kept compatible with queries written for Ponder's generated schema. Ponder typed
 * `chainId` as `Float` in singular lookups, `role`/`reason` as `Int` and `status`/`type` as `String`;
 * this schema types them `Int` and domain scalars. GraphQL would refuse a `$chainId: Float!` variable
 * in an `Int!` position, so the rule on variable positions lets exactly these widenings through:
 * Float → Int, Int → BigInt, and the base type (String or Int) → a domain scalar. Values still pass
 * the checks of the resolvers (domain values are checked again when a filter is built).
 */
import { type ValidationContext, type ValidationRule, VariablesInAllowedPositionRule } from "graphql";
import { DOMAINS } from "./scalars.js";

const WIDENINGS: Record<string, string[]> = {
  Float: ["Int"],
  Int: [
    "BigInt",
    ...Object.values(DOMAINS)
      .filter((d) => d.base === "int")
      .map((d) => d.name),
  ],
  String: Object.values(DOMAINS)
    .filter((d) => d.base === "string")
    .map((d) => d.name),
};

const MESSAGE = /^Variable "\$\w+" of type "([^"]+)" used in position expecting type "([^"]+)"\.$/;

/** Whether a refused variable type is one of the allowed widenings (same list and non-null wrappers). */
function isAllowedWidening(message: string): boolean {
  const match = MESSAGE.exec(message);
  if (!match) return false;
  const [, given, expected] = match as unknown as [string, string, string];
  const base = (type: string) => type.replace(/[[\]!]/g, "");
  const givenBase = base(given);
  const expectedBase = base(expected);
  if (!WIDENINGS[givenBase]?.includes(expectedBase)) return false;
  const widened = given.replace(givenBase, expectedBase);
  // A non-null variable may fill a nullable position, not the other way round.
  return (
    widened === expected ||
    widened === `${expected}!` ||
    (widened.replace(/!/g, "") === expected.replace(/!/g, "") && widened.length >= expected.length)
  );
}

/** VariablesInAllowedPositionRule, minus the widenings above. */
export const compatibleVariablesRule: ValidationRule = (context: ValidationContext) =>
  VariablesInAllowedPositionRule(
    Object.create(context, {
      reportError: {
        value: (error: Parameters<ValidationContext["reportError"]>[0]) => {
          if (!isAllowedWidening(error.message)) context.reportError(error);
        },
      },
    }),
  );

/** The rules with VariablesInAllowedPositionRule replaced by the compatible one. */
export function compatibleRules(rules: readonly ValidationRule[]): ValidationRule[] {
  return rules.map((rule) => (rule === VariablesInAllowedPositionRule ? compatibleVariablesRule : rule));
}
