/**
 * The bot stream end to end: real anvil, real `ponder start` on PGlite, real HTTP. A bot that was
 * down gets every slash it missed exactly once; a reorg retracts a slash already sent; clients
 * resume across an indexer restart with no gap and no duplicate; 200 clients hold for 30 s.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import path from "node:path";
import { parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { followSlashes, type SlashEvent } from "../examples/slash-bot.js";
import { blockNumber } from "../harness/chain.js";
import { type PonderProcess, startPonder } from "../harness/ponder.js";
import { killProcess, stopProcess } from "../harness/process.js";
import { waitFor } from "../harness/wait.js";
import { rpc } from "../scripts/lib/anvil.js";
import { ROOT } from "../scripts/lib/compile.js";
import { type SlashChain, SseClient, startRelay, startSlashChain } from "./helpers/bots.js";

const TSX = path.join(ROOT, "node_modules/.bin/tsx");

describe("GET /streams/slashes and /streams/activity", () => {
  let chain: SlashChain;
  let ponder: PonderProcess;
  let env: Record<string, string>;
  const clients: SseClient[] = [];
  const children: ChildProcess[] = [];

  const open = async (query: string, headers: Record<string, string> = {}, stream = "slashes") => {
    const client = await new SseClient(`${ponder.url}/streams/${stream}${query}`, headers).open();
    clients.push(client);
    return client;
  };
  type Stats = {
    clients: Record<string, number>;
    dropped: Record<string, number>;
    sources: Record<string, { reloads?: number }>;
  };
  const stats = async (): Promise<Stats> => (await (await fetch(`${ponder.url}/streams`)).json()) as Stats;
  const head = () => blockNumber(chain.protocol.rpcUrl);

  beforeAll(async () => {
    chain = await startSlashChain();
    env = {
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(chain.workDir, "pglite"),
      STREAM_HEARTBEAT_MS: "5000",
    };
    ponder = await startPonder(env);
    await ponder.waitForBlock(await head());
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(children.map(killProcess));
    await ponder?.stop();
    await chain?.stop();
  });

  it("refuses unknown parameters, malformed cursors, addresses and amounts with a 400 and a message", async () => {
    const cases: [string, RegExp][] = [
      ["/streams/slashes?stakr=1", /Unknown parameter "stakr"/],
      ["/streams/slashes?staker=0x1234", /"staker": "0x1234" is not an address/],
      ["/streams/slashes?after=12345", /"after": "12345" is not a cursor/],
      ["/streams/slashes?minAmount=ten", /"minAmount"/],
      ["/streams/slashes?confirmations=1000", /"confirmations"/],
      ["/streams/activity?type=NoSuchEvent", /"type": "NoSuchEvent" is not an event type/],
    ];
    for (const [pathAndQuery, message] of cases) {
      const response = await fetch(`${ponder.url}${pathAndQuery}`);
      expect(response.status, pathAndQuery).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(message);
    }
    const badHeader = await fetch(`${ponder.url}/streams/slashes`, { headers: { "last-event-id": "nope" } });
    expect(badHeader.status).toBe(400);
    // Without WEBHOOK_ADMIN_TOKEN the admin API is off.
    const admin = await fetch(`${ponder.url}/admin/webhooks`);
    expect(admin.status).toBe(403);
    expect(((await admin.json()) as { error: string }).error).toMatch(/WEBHOOK_ADMIN_TOKEN/);
  });

  it("gives a bot that was down all 50 slashes it missed, once each, and filtered streams their share", async () => {
    const { provider, provider2 } = chain.protocol.accounts;
    const cursorFile = path.join(chain.workDir, "bot.cursor");
    let output = "";
    const startBot = () => {
      const args = [
        "examples/slash-bot.ts",
        "follow",
        "--url",
        ponder.url,
        "--cursor-file",
        cursorFile,
        "--from-beginning",
      ];
      const child = spawn(TSX, args, {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout?.on("data", (chunk) => {
        output += chunk;
      });
      child.stderr?.resume();
      children.push(child);
      return child;
    };
    const alertIds = () => [...output.matchAll(/^SLASH .* id=(\S+)$/gm)].map((match) => match[1]);

    // The bot starts (from the beginning: nothing yet), sees one slash (so that it has a cursor), goes down.
    let bot = startBot();
    const first = await chain.slash(provider);
    await waitFor(() => alertIds().includes(first.id), 30_000, "the bot's first alert");
    await stopProcess(bot);

    // Streams that stay up meanwhile, with filters.
    const onlyProvider2 = await (await open(`?staker=${provider2}&reason=2&minAmount=${parseEther("2")}`)).waitLive();
    const activity = await (await open("?type=Slashed", {}, "activity")).waitLive();
    const deep = await (await open("?confirmations=3")).waitLive();

    const sent = [];
    for (let i = 0; i < 50; i++) {
      const staker = i % 2 === 0 ? provider : provider2;
      const reason = (i % 3) + 1;
      sent.push({
        ...(await chain.slash(staker, parseEther(String(1 + (i % 4))), reason)),
        reason,
        amount: 1 + (i % 4),
      });
    }
    bot = startBot();
    await waitFor(() => alertIds().length >= 51, 60_000, "the bot to catch up 50 slashes");
    // A later slash, sent once the bot has caught up: the bot prints in stream order, so anything
    // extra of the catch-up would show before this one's alert.
    sent.push({ ...(await chain.slash(provider)), reason: 1, amount: 1 });
    const expectedIds = sent.map((slash) => slash.id);
    await waitFor(() => alertIds().includes(expectedIds[expectedIds.length - 1]), 60_000, "the later slash's alert");
    expect(alertIds()).toEqual([first.id, ...expectedIds]);
    bot.kill("SIGTERM");

    const matching = sent.filter((slash) => slash.staker === provider2 && slash.reason === 2 && slash.amount >= 2);
    await waitFor(() => activity.ids("activity").length >= expectedIds.length, 30_000, "the activity stream");
    expect(activity.ids("activity")).toEqual(expectedIds);
    expect(onlyProvider2.ids()).toEqual(matching.map((slash) => slash.id));
    // confirmations=3: the last three slashes are not three blocks deep until three more blocks.
    const deepEnough = expectedIds.length - 3;
    await waitFor(() => deep.ids().length >= deepEnough, 30_000, "the confirmed stream");
    expect(deep.ids()).toEqual(expectedIds.slice(0, deepEnough));
    await rpc(chain.protocol.rpcUrl, "anvil_mine", ["0x3"]);
    await waitFor(() => deep.ids().length >= expectedIds.length, 30_000, "the confirmed stream's last three");
    expect(deep.ids()).toEqual(expectedIds);
    // No reorg happened: the pollers never had to re-read their unfinalized rows.
    const { sources } = await stats();
    expect([sources.slashes.reloads, sources.activity.reloads]).toEqual([0, 0]);
    for (const client of [onlyProvider2, activity, deep]) {
      expect(client.messages.every((message) => message.event !== "retracted")).toBe(true);
      await client.close();
    }
  });

  it("retracts a slash that a reorg removed after the stream sent it; a confirmed stream never sends it", async () => {
    const live = await (await open("")).waitLive();
    const confirmed = await (await open("?confirmations=2")).waitLive();

    const snapshot = await chain.protocol.snapshot();
    const doomed = await chain.slash(chain.protocol.accounts.provider);
    await waitFor(() => live.ids().includes(doomed.id), 30_000, "the slash to be streamed");
    const sentPayload = live.payloads("slash").find((payload) => payload.id === doomed.id)!;

    await chain.protocol.revert(snapshot);
    await rpc(chain.protocol.rpcUrl, "anvil_mine", ["0x3"]); // a longer chain without the slash
    const retracted = await waitFor(
      () => live.payloads("retracted").find((payload) => payload.id === doomed.id),
      60_000,
      "the retraction",
    );
    expect(retracted.cursor).toBe(sentPayload.cursor);

    // Life goes on: the next slash reaches both streams, the confirmed one once two blocks deep.
    const next = await chain.slash(chain.protocol.accounts.provider);
    await waitFor(() => live.ids().includes(next.id), 30_000, "the next slash");
    await rpc(chain.protocol.rpcUrl, "anvil_mine", ["0x2"]);
    await waitFor(() => confirmed.ids().includes(next.id), 30_000, "the next slash, confirmed");
    expect(confirmed.ids()).toEqual([next.id]);
    expect(confirmed.messages.some((message) => message.event === "retracted")).toBe(false);
    expect(live.ids()).toEqual([doomed.id, next.id]);
    await live.close();
    await confirmed.close();
  });

  it("holds 200 concurrent clients for 30 s without an error, a stuck client notwithstanding", async () => {
    // A client that sends its request and never reads a byte.
    const stuck = connect(Number(new URL(ponder.url).port), "127.0.0.1");
    stuck.write("GET /streams/slashes?after=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
    stuck.pause();

    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => open(i % 2 === 0 ? "" : "?after=now")));
    expect(many.every((client) => client.status === 200)).toBe(true);
    await Promise.all(many.map((client) => client.waitLive(60_000)));
    await waitFor(async () => (await stats()).clients.slashes >= 201, 30_000, "201 stream clients");

    const started = Date.now();
    const sent: string[] = [];
    while (Date.now() - started < 30_000) {
      sent.push((await chain.slash(chain.protocol.accounts.provider2)).id);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    await waitFor(() => many.every((client) => client.ids().length >= sent.length), 30_000, "every client");
    for (const client of many) {
      expect(client.error).toBeUndefined();
      expect(client.ended).toBe(false);
      expect(client.ids()).toEqual(sent);
      expect(client.comments).toBeGreaterThanOrEqual(5); // heartbeats every 5 s here
    }
    const final = await stats();
    expect(final.dropped.error ?? 0).toBe(0);
    await Promise.all(many.map((client) => client.close()));
    stuck.destroy();
    await waitFor(async () => (await stats()).clients.slashes === 0, 30_000, "the server to let go of closed clients");
  }, 150_000);

  it("resumes a client across an indexer restart with no gap and no duplicate", async () => {
    const relay = await startRelay();
    relay.setTarget(Number(new URL(ponder.url).port));
    const counted = await ponder.graphql<{ slashs: { totalCount: number } }>("{ slashs { totalCount } }");
    const before = counted.data!.slashs.totalCount;
    const received: SlashEvent[] = [];
    const controller = new AbortController();
    const cursorFile = path.join(chain.workDir, "restart.cursor");
    const following = followSlashes({
      url: relay.url,
      cursorFile,
      fromBeginning: true,
      signal: controller.signal,
      onSlash: (slash) => {
        received.push(slash);
      },
    });
    try {
      await waitFor(() => received.length >= before, 60_000, "the history replay");
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) sent.push((await chain.slash(chain.protocol.accounts.provider)).id);
      await waitFor(() => received.length >= before + 5, 30_000, "slashes before the restart");

      await ponder.stop();
      relay.setTarget(0);
      for (let i = 0; i < 5; i++) sent.push((await chain.slash(chain.protocol.accounts.provider)).id);
      ponder = await startPonder(env);
      relay.setTarget(Number(new URL(ponder.url).port));
      await ponder.waitForBlock(await head());
      for (let i = 0; i < 5; i++) sent.push((await chain.slash(chain.protocol.accounts.provider2)).id);
      await waitFor(() => received.length >= before + 15, 90_000, "slashes after the restart");
      // A later slash: the client receives in stream order, so a duplicate or an extra row of the
      // resumption would show before this one.
      sent.push((await chain.slash(chain.protocol.accounts.provider2)).id);
      await waitFor(() => received.some((slash) => slash.id === sent[sent.length - 1]), 60_000, "the later slash");

      const ids = received.map((slash) => slash.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.slice(before)).toEqual(sent);
      const cursors = received.map((slash) => slash.cursor);
      expect([...cursors].sort()).toEqual(cursors);
    } finally {
      controller.abort();
      await following.catch(() => {});
      await relay.close();
    }
  }, 180_000);
});
