import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectOutput } from "../harness/process.js";
import { waitFor } from "../harness/wait.js";
import { ROOT } from "../scripts/lib/compile.js";

const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const SECRET = "whsec_slash_bot_test_0123456789";

/** Signs as the indexer does (`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`), written here from the format. */
function signed(body: string): Record<string, string> {
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac("sha256", SECRET).update(`${t}.${body}`).digest("hex");
  return { "content-type": "application/json", "x-openledger-signature": `t=${t},v1=${v1}` };
}

/** A slash delivery as the indexer sends one, less the fields `omit` names. */
function slashBody(id: string, omit: string[] = []): string {
  const data: Record<string, unknown> = {
    id,
    cursor: "1",
    chainId: 31337,
    blockNumber: "12",
    logIndex: 0,
    timestamp: "1700000000",
    txHash: `0x${"ab".repeat(32)}`,
    staker: `0x${"12".repeat(20)}`,
    invoiceId: "7",
    reason: 1,
    amount: "1000",
    remainingStake: "9000",
    evidence: `0x${"00".repeat(32)}`,
  };
  for (const field of omit) delete data[field];
  return JSON.stringify({ event: "slash", id, cursor: "1", subscription: "ops", data });
}

describe("examples/slash-bot.ts webhook (the real bot, over HTTP)", () => {
  let bot: ChildProcess;
  let output: () => string;
  let url: string;

  beforeAll(async () => {
    bot = spawn(TSX, ["examples/slash-bot.ts", "webhook", "--port", "0", "--secret", SECRET], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    output = collectOutput(bot);
    url = await waitFor(
      () => /receiving webhooks on (http:\S+)/.exec(output())?.[1],
      60_000,
      "the bot's 'receiving webhooks' line",
    );
  });

  afterAll(() => {
    bot?.kill("SIGTERM");
  });

  const post = (body: string, eventId: string, headers = signed(body)) =>
    fetch(url, { method: "POST", headers: { ...headers, "x-openledger-event-id": eventId }, body });

  it("accepts a signed slash without data.timestamp and still alerts, so the delivery is not retried", async () => {
    const response = await post(slashBody("31337:0xaa:0", ["timestamp"]), "no-timestamp");
    expect(response.status).toBe(200);
    const line = await waitFor(
      () => output().match(/^SLASH .* id=31337:0xaa:0$/m)?.[0],
      10_000,
      "the bot's alert line for the slash without a timestamp",
    );
    expect(line).toMatch(/^SLASH time-unknown staker=0x1212121212121212121212121212121212121212 amount=1000 /);
  });

  it("answers 400 to a signed body that is not a delivery, with the reason, and 401 to a bad signature", async () => {
    const notJson = await post("not json", "not-json");
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).toMatch(/^not a delivery: /);
    const noData = await post(JSON.stringify({ event: "slash", id: "x" }), "no-data");
    expect(noData.status).toBe(400);
    expect(await noData.text()).toMatch(/^not a delivery: .*"data"/);
    const good = slashBody("31337:0xbb:0");
    const forged = await post(good, "forged", { ...signed(good), "x-openledger-signature": "t=1,v1=00" });
    expect(forged.status).toBe(401);
    // A well-formed delivery is taken.
    expect((await post(good, "good")).status).toBe(200);
    await waitFor(() => /^SLASH 2023-11-14T22:13:20\.000Z .* id=31337:0xbb:0$/m.test(output()), 10_000, "alert");
  });
});
