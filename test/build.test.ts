/**
 * The build is not stale: abis/*.ts and artifacts/*.json are what a fresh compile of contracts/ gives,
 * contracts/interfaces/IOpenLedger.sol is the normative spec's copy, and every event and function of
 * the spec's interfaces exists, with exactly its signature, in the ABI of the contract implementing it.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import {
  type Abi,
  type AbiEvent,
  type AbiFunction,
  type AbiParameter,
  toEventSignature,
  toFunctionSignature,
} from "viem";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CONTRACT_NAMES,
  type CompiledContract,
  type ContractName,
  compileContracts,
  generatedFiles,
  ROOT,
} from "../scripts/lib/compile.js";

const require = createRequire(import.meta.url);
const INTERFACE_COPY = path.join(ROOT, "contracts/interfaces/IOpenLedger.sol");
const SPEC = path.join(ROOT, "../shared/spec/IOpenLedger.sol");
const IMPLEMENTED_BY: Record<string, ContractName> = {
  IOpenToken: "OpenToken",
  IStakeManager: "StakeManager",
  IInvoiceRegistry: "InvoiceRegistry",
  ISettlementEngine: "SettlementEngine",
};
const GENERATED = CONTRACT_NAMES.flatMap((name) => [`abis/${name}.ts`, `artifacts/${name}.json`]);

let compiled: Record<ContractName, CompiledContract>;
let files: Record<string, string>;

beforeAll(() => {
  compiled = compileContracts();
  files = generatedFiles(compiled);
});

describe("generated files", () => {
  it("are the four ABIs and the four artifacts", () => {
    expect(Object.keys(files).sort()).toEqual([...GENERATED].sort());
  });

  it.each(GENERATED)("%s matches a fresh compile of contracts/", (relative) => {
    const file = path.join(ROOT, relative);
    if (!existsSync(file)) expect.fail(`${relative} is missing: run npm run build:contracts`);
    const committed = readFileSync(file, "utf8");
    if (committed !== files[relative]) {
      const expectedLines = files[relative].split("\n");
      const line = committed.split("\n").findIndex((text, i) => text !== expectedLines[i]);
      expect.fail(`${relative} is stale (first difference at line ${line + 1}): run npm run build:contracts`);
    }
  });
});

describe("the normative interface", () => {
  it.skipIf(!existsSync(SPEC))(
    "contracts/interfaces/IOpenLedger.sol is a copy of ../shared/spec/IOpenLedger.sol",
    () => {
      const copy = readFileSync(INTERFACE_COPY, "utf8");
      if (copy !== readFileSync(SPEC, "utf8")) {
        expect.fail(
          "contracts/interfaces/IOpenLedger.sol differs from the spec: copy ../shared/spec/IOpenLedger.sol over it",
        );
      }
    },
  );

  /** The ABIs of the interfaces in the spec (or in its copy when the spec is not around). */
  function interfaceAbis(): Record<string, Abi> {
    const file = existsSync(SPEC) ? SPEC : INTERFACE_COPY;
    const input = {
      language: "Solidity",
      sources: { "IOpenLedger.sol": { content: readFileSync(file, "utf8") } },
      settings: { outputSelection: { "*": { "*": ["abi"] } } },
    };
    const output = JSON.parse(require("solc").compile(JSON.stringify(input)));
    const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === "error");
    if (errors.length > 0) throw new Error(`solc failed on ${file}: ${JSON.stringify(errors)}`);
    const contracts = output.contracts["IOpenLedger.sol"] as Record<string, { abi: Abi }>;
    return Object.fromEntries(Object.entries(contracts).map(([name, { abi }]) => [name, abi]));
  }

  /**
   * What matters to a caller or an indexer beyond the signature: events' argument names and indexed flags
   * (decoded args are keyed by name), functions' mutability and outputs. Functions' argument names are left
   * out: they are in neither the selector nor the calldata.
   */
  function describeParam(param: AbiParameter & { indexed?: boolean }, withName = true): string {
    const components = "components" in param ? param.components : undefined;
    const inner = components?.map((component) => describeParam(component, withName)).join(",");
    const type = inner !== undefined ? `(${inner})${param.type.slice("tuple".length)}` : param.type;
    return [type, param.indexed ? "indexed" : "", withName ? (param.name ?? "") : ""].filter(Boolean).join(" ");
  }
  function describeItem(item: AbiEvent | AbiFunction): string {
    if (item.type === "event") return `event ${item.name}(${item.inputs.map((i) => describeParam(i)).join(", ")})`;
    const inputs = item.inputs.map((i) => describeParam(i, false)).join(", ");
    const outputs = item.outputs.map((o) => describeParam(o)).join(", ");
    return `function ${item.name}(${inputs}) ${item.stateMutability} returns (${outputs})`;
  }

  const events = (abi: Abi) => abi.filter((item): item is AbiEvent => item.type === "event");
  const functions = (abi: Abi) => abi.filter((item): item is AbiFunction => item.type === "function");

  it("declares the four interfaces, implemented by the four contracts", () => {
    expect(Object.keys(interfaceAbis()).sort()).toEqual(Object.keys(IMPLEMENTED_BY).sort());
  });

  it.each(Object.entries(IMPLEMENTED_BY))("every event and function of %s is in %s's ABI", (iface, contract) => {
    const spec = interfaceAbis()[iface];
    const abi = compiled[contract].abi as Abi;
    expect(events(spec).length + functions(spec).length).toBeGreaterThan(0);

    const eventSignatures = new Set(events(abi).map((e) => toEventSignature(e)));
    const functionSignatures = new Set(functions(abi).map((f) => toFunctionSignature(f)));
    const missing = [
      ...events(spec)
        .map((e) => toEventSignature(e))
        .filter((s) => !eventSignatures.has(s)),
      ...functions(spec)
        .map((f) => toFunctionSignature(f))
        .filter((s) => !functionSignatures.has(s)),
    ];
    expect(missing, `${contract} lacks these signatures of ${iface}`).toEqual([]);

    const described = new Set([...events(abi), ...functions(abi)].map(describeItem));
    const different = [...events(spec), ...functions(spec)].map(describeItem).filter((d) => !described.has(d));
    expect(different, `${contract} declares these items of ${iface} differently (indexed, names, outputs)`).toEqual([]);
  });
});
