/** config/rpc-transport in front of a real anvil: the failover serves viem's public client. */
import { createPublicClient } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcTransport } from "../config/rpc-transport.js";
import { freePort } from "../harness/ports.js";
import { type Anvil, startAnvil } from "../scripts/lib/anvil.js";

describe("config/rpc-transport with a real anvil behind a dead URL", () => {
  let anvil: Anvil;
  let closedUrl: string;
  beforeAll(async () => {
    closedUrl = `http://127.0.0.1:${await freePort()}`;
    anvil = await startAnvil({ port: 0, chainId: 31338 });
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  it("serves viem's public client from the second URL", async () => {
    const lines: string[] = [];
    const client = createPublicClient({
      transport: rpcTransport({ chainName: "l2", urls: [closedUrl, anvil.rpcUrl], log: (line) => lines.push(line) }),
    });
    expect(await client.getChainId()).toBe(31338);
    expect(await client.getBlockNumber()).toBe(0n);
    expect(lines).toEqual([`rpc[l2]: ${closedUrl} failed (fetch failed); failing over to ${anvil.rpcUrl}`]);
  });
});
