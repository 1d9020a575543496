import { createServer, type IncomingHttpHeaders } from "node:http";

export type ReceivedWebhook = { headers: IncomingHttpHeaders; body: string };

export type WebhookReceiver = { url: string; requests: ReceivedWebhook[]; close: () => Promise<void> };

/** An HTTP server on 127.0.0.1 that answers every POST 200 and keeps what it received, in order. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      requests.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/hook`;
  return { url, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
