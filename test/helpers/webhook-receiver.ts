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

/** The delivery ids a webhook receiver saw, by event id (at least once: one id per event, maybe POSTed again). */
export function deliveryIdsByEvent(requests: readonly ReceivedWebhook[]): Map<string, Set<string>> {
  const byEvent = new Map<string, Set<string>>();
  for (const request of requests) {
    const eventId = String(request.headers["x-openledger-event-id"]);
    const ids = byEvent.get(eventId) ?? new Set<string>();
    ids.add(String(request.headers["x-openledger-delivery-id"]));
    byEvent.set(eventId, ids);
  }
  return byEvent;
}
