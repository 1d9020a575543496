/** The harness's own parts that every suite relies on: metrics parsing, the stale-socket retry and the order of the files. */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retryingStaleSocket } from "../harness/http.js";
import { parseMetrics } from "../harness/metrics.js";
import { LONGEST_FIRST, longestFirstRank } from "../harness/vitest-sequencer.js";

describe("parseMetrics", () => {
  it("reads names, labels and values, with the format's escapes in label values", () => {
    const text = [
      "# HELP openledger_x A metric.",
      "# TYPE openledger_x gauge",
      'openledger_x{path="C:\\\\dir",quote="say \\"hi\\"",lines="a\\nb",odd="a,b}c"} 3.5',
      "openledger_y 7 1700000000000",
      'openledger_z_bucket{le="+Inf"} +Inf',
      "",
      "not a sample {",
    ].join("\n");
    expect(parseMetrics(text)).toEqual([
      {
        name: "openledger_x",
        labels: { path: "C:\\dir", quote: 'say "hi"', lines: "a\nb", odd: "a,b}c" },
        value: 3.5,
      },
      { name: "openledger_y", labels: {}, value: 7 },
      { name: "openledger_z_bucket", labels: { le: "+Inf" }, value: Number.POSITIVE_INFINITY },
    ]);
  });
});

describe("retryingStaleSocket", () => {
  let server: Server;
  let url: string;
  const requestsOnSocket = new Map<Socket, number>();

  beforeAll(async () => {
    // Answers the first request of a connection and keeps it alive; closes the connection, without an
    // answer, on any later request: what a client sees when it reuses a socket the server has just closed.
    server = createServer((request, response) => {
      const count = (requestsOnSocket.get(request.socket) ?? 0) + 1;
      requestsOnSocket.set(request.socket, count);
      request.resume();
      request.on("end", () => {
        if (count > 1) request.socket.destroy();
        else response.writeHead(200, { connection: "keep-alive" }).end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Lets undici put the socket of a completed response back in its pool, for the next request to reuse. */
  const idle = () => new Promise((resolve) => setImmediate(resolve));
  const closedSocket = { cause: { code: "UND_ERR_SOCKET" } };

  it("sends an idempotent request once more when its socket was closed, and nothing else", async () => {
    const retrying = retryingStaleSocket(globalThis.fetch);
    expect(await (await fetch(`${url}/a`)).text()).toBe("ok");
    await idle();
    // Plain fetch reuses the kept-alive socket and fails.
    await expect(fetch(`${url}/b`)).rejects.toMatchObject(closedSocket);

    expect(await (await retrying(`${url}/c`)).text()).toBe("ok");
    await idle();
    expect(await (await retrying(`${url}/d`)).text()).toBe("ok");
    await idle();
    const graphql = { method: "POST", body: JSON.stringify({ query: "{ a }" }) };
    expect(await (await retrying(`${url}/graphql`, graphql)).text()).toBe("ok");
    await idle();
    // A POST elsewhere may have side effects: it is not sent twice.
    await expect(retrying(`${url}/admin`, { method: "POST", body: "{}" })).rejects.toMatchObject(closedSocket);
    // Each retry opened a socket of its own: a, c, d's retry, the GraphQL query's retry.
    expect(requestsOnSocket.size).toBe(4);
  });
});

describe("LongestFirstSequencer's list", () => {
  it("names test files that exist (a renamed file would silently start last again)", () => {
    const missing = LONGEST_FIRST.filter((name) => !existsSync(`test/${name}.test.ts`));
    expect(missing).toEqual([]);
  });

  it("ranks a listed file by its place in the list, and any other file after all of them", () => {
    expect(longestFirstRank("test/reliability/crash-pglite.test.ts")).toBe(0);
    expect(longestFirstRank(`${process.cwd()}/test/streams.test.ts`)).toBe(LONGEST_FIRST.indexOf("streams"));
    expect(longestFirstRank("test/contracts.test.ts")).toBe(LONGEST_FIRST.length);
  });
});
