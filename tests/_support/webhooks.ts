/**
 * A real webhook receiver for the tests: `Deno.serve` on 127.0.0.1, port 0,
 * that checks every request with the unmodified `pusher` server SDK
 * (`webhook({headers, rawBody}).isValid()`, `.getEvents()`) and keeps the
 * events it accepted. Its answer can be switched: 200, a failing status, or
 * never (a target that hangs).
 *
 * @module
 */

import PusherServer from "npm:pusher@^5.3.4";
import { APP } from "./pusher.ts";

/** One event as the SDK hands it over. */
export interface ReceivedEvent {
  name: string;
  channel: string;
  [field: string]: unknown;
}

/** How the receiver answers. */
export type Answer = "ok" | "fail" | "hang";

/** A running receiver; `await using` stops it. */
export interface Receiver extends AsyncDisposable {
  url: string;
  /** Events from requests whose signature the SDK accepted. */
  events: ReceivedEvent[];
  /** Requests received, valid or not. */
  requests: number;
  /** Requests whose signature or body the SDK refused. */
  invalid: number;
  /** Events per request, in arrival order. */
  batches: number[];
  answer: Answer;
  /** Resolves once `check(events)` holds (polled on every request and every 10 ms); throws after 20 s. */
  until(check: (events: ReceivedEvent[]) => boolean): Promise<void>;
}

/** Starts a receiver that validates with `secret` (the test app's by default). */
export function startReceiver(
  options: { secret?: string; key?: string; answer?: Answer } = {},
): Receiver {
  const sdk = new PusherServer({
    appId: APP.id,
    key: options.key ?? APP.key,
    secret: options.secret ?? APP.secret,
    host: "127.0.0.1",
  });
  const hanging = new Set<() => void>();
  const receiver: Receiver = {
    url: "",
    events: [],
    requests: 0,
    invalid: 0,
    batches: [],
    answer: options.answer ?? "ok",
    async until(check) {
      const deadline = Date.now() + 20_000;
      while (!check(receiver.events)) {
        if (Date.now() > deadline) {
          throw new Error(
            `Webhooks never arrived: ${JSON.stringify(receiver.events)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async [Symbol.asyncDispose]() {
      for (const release of hanging) release();
      await server.shutdown();
    },
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const rawBody = await request.text();
      receiver.requests += 1;
      if (receiver.answer === "hang") {
        await new Promise<void>((resolve) => {
          hanging.add(resolve);
          request.signal.addEventListener("abort", () => resolve());
        });
        return new Response("late", { status: 503 });
      }
      if (receiver.answer === "fail") {
        return new Response("down", { status: 503 });
      }
      const headers = Object.fromEntries(request.headers.entries());
      const webhook = sdk.webhook({ headers, rawBody });
      if (!webhook.isValid()) {
        receiver.invalid += 1;
        return new Response("bad signature", { status: 401 });
      }
      const events: ReceivedEvent[] = [];
      for (const event of webhook.getEvents()) {
        const fields: Record<string, unknown> = Object.fromEntries(
          Object.entries(event),
        );
        const { name, channel } = fields;
        if (typeof name !== "string" || typeof channel !== "string") {
          receiver.invalid += 1;
          continue;
        }
        events.push({ ...fields, name, channel });
      }
      receiver.batches.push(events.length);
      receiver.events.push(...events);
      return new Response("ok");
    },
  );
  receiver.url = `http://127.0.0.1:${server.addr.port}/hooks`;
  return receiver;
}

/** `PUSHER_APPS` for the test app with webhooks to `urls`, plus small timings for tests. */
export function webhookEnv(
  urls: readonly (string | { url: string; "event_types": string[] })[],
  limits: Record<string, number | boolean> = {},
): Record<string, string> {
  return {
    PUSHER_APPS: JSON.stringify([{
      ...APP,
      enable_client_messages: true,
      ...limits,
      webhooks: urls.map((u) => typeof u === "string" ? { url: u } : u),
    }]),
    WEBHOOK_VACATE_DELAY_MS: "200",
    WEBHOOK_COUNT_DELAY_MS: "100",
    WEBHOOK_POLL_MS: "50",
    WEBHOOK_LEASE_MS: "1000",
    WEBHOOK_BACKOFF_MS: "20",
    WEBHOOK_BACKOFF_MAX_MS: "100",
  };
}

/** The events named `name` on `channel`. */
export function named(
  events: readonly ReceivedEvent[],
  name: string,
  channel?: string,
): ReceivedEvent[] {
  return events.filter((e) =>
    e.name === name && (channel === undefined || e.channel === channel)
  );
}
