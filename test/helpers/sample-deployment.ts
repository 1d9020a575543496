import { writeFileSync } from "node:fs";
import path from "node:path";

/** A deployment file's content for tests that read settings without a chain (anvil's first addresses). */
export const SAMPLE_DEPLOYMENT = {
  chainId: 31337,
  rpcUrl: "http://127.0.0.1:8545",
  startBlock: 1,
  contracts: {
    OpenToken: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    StakeManager: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
    InvoiceRegistry: "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
    SettlementEngine: "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9",
  },
};

/** Writes SAMPLE_DEPLOYMENT to `dir`/deployment.json and returns the file's path. */
export function writeSampleDeployment(dir: string): string {
  const file = path.join(dir, "deployment.json");
  writeFileSync(file, JSON.stringify(SAMPLE_DEPLOYMENT));
  return file;
}
