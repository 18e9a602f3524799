import assert from "node:assert/strict";
import { DEMO_APP, parsePusherApps, PusherApps } from "./pusher_apps.ts";

const env = (entries: Record<string, string>) =>
  new Map(Object.entries(entries));

Deno.test("parsePusherApps() reads PUSHER_APP_* with Pusher's default limits", () => {
  const [app] = parsePusherApps(env({
    PUSHER_APP_ID: "42",
    PUSHER_APP_KEY: "key",
    PUSHER_APP_SECRET: "secret",
  }));
  assert.deepEqual(app, {
    id: "42",
    key: "key",
    secret: "secret",
    enableClientMessages: false,
    enableSubscriptionCount: false,
    maxConnections: 0,
    maxClientEventsPerS: 10,
    maxPresenceMembers: 100,
    maxEventPayloadBytes: 10240,
    maxEventChannels: 100,
    maxEventBatchSize: 10,
    webhooks: [],
  });
});

Deno.test("parsePusherApps() reads webhooks: PUSHER_WEBHOOK_URL for the first app, Soketi's webhooks per app", () => {
  const apps = parsePusherApps(env({
    PUSHER_APP_ID: "1",
    PUSHER_APP_KEY: "k1",
    PUSHER_APP_SECRET: "s1",
    PUSHER_WEBHOOK_URL: "https://example.com/hook",
    PUSHER_WEBHOOK_EVENTS: "channel_occupied, client_event",
    PUSHER_APPS: JSON.stringify([{
      id: "2",
      key: "k2",
      secret: "s2",
      webhooks: [{ url: "http://127.0.0.1:9/a" }, {
        url: "http://127.0.0.1:9/b",
        "event_types": ["member_added"],
      }],
    }]),
  }));
  assert.deepEqual(apps.map((a) => a.webhooks), [
    [{
      url: "https://example.com/hook",
      eventTypes: ["channel_occupied", "client_event"],
    }],
    [{ url: "http://127.0.0.1:9/a" }, {
      url: "http://127.0.0.1:9/b",
      eventTypes: ["member_added"],
    }],
  ]);
  const dev = parsePusherApps(
    env({ PUSHER_WEBHOOK_URL: "http://127.0.0.1:9/dev" }),
    { dev: true },
  );
  assert.deepEqual(dev[0]?.webhooks, [{ url: "http://127.0.0.1:9/dev" }]);
});

Deno.test("parsePusherApps() refuses bad webhooks, naming where", () => {
  const app = (webhooks: unknown) =>
    env({
      PUSHER_APPS: JSON.stringify([{
        id: "a",
        key: "k",
        secret: "s",
        webhooks,
      }]),
    });
  assert.throws(() => parsePusherApps(app("x")), /PUSHER_APPS\[0\]\.webhooks/);
  assert.throws(
    () => parsePusherApps(app([{ url: "ftp://x" }])),
    /webhooks\[0\]: url must be an http/,
  );
  assert.throws(
    () => parsePusherApps(app([{ url: "http://x", "event_types": ["nope"] }])),
    /event_types/,
  );
  assert.throws(
    () => parsePusherApps(app([{ url: "http://x", headers: {} }])),
    /unknown field "headers"/,
  );
  assert.throws(
    () =>
      parsePusherApps(env({
        PUSHER_APP_ID: "1",
        PUSHER_APP_KEY: "k1",
        PUSHER_APP_SECRET: "s1",
        PUSHER_WEBHOOK_URL: "http://x",
        PUSHER_WEBHOOK_EVENTS: "channel_opened",
      })),
    /PUSHER_WEBHOOK_URL/,
  );
});

Deno.test("parsePusherApps() reads PUSHER_APPS with Soketi's field names", () => {
  const [app] = parsePusherApps(env({
    PUSHER_APPS: JSON.stringify([{
      id: "a",
      key: "ka",
      secret: "sa",
      enable_client_messages: true,
      max_client_events_per_second: 3,
      max_event_payload_in_kb: 2,
      max_presence_members_per_channel: 5,
    }]),
  }));
  assert.equal(app?.enableClientMessages, true);
  assert.equal(app?.maxClientEventsPerS, 3);
  assert.equal(app?.maxEventPayloadBytes, 2048);
  assert.equal(app?.maxPresenceMembers, 5);
});

Deno.test("parsePusherApps() gives the demo app in dev mode only when none is set", () => {
  assert.deepEqual(parsePusherApps(env({}), { dev: true }), [DEMO_APP]);
  assert.deepEqual(parsePusherApps(env({})), []);
  const apps = parsePusherApps(
    env({ PUSHER_APP_ID: "1", PUSHER_APP_KEY: "k", PUSHER_APP_SECRET: "s" }),
    { dev: true },
  );
  assert.deepEqual(apps.map((a) => a.key), ["k"]);
});

Deno.test("parsePusherApps() refuses bad settings, naming the variable", () => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ PUSHER_APP_ID: "1", PUSHER_APP_KEY: "k" }, /all three or none/],
    [{ PUSHER_APPS: "{" }, /PUSHER_APPS: not valid JSON/],
    [{ PUSHER_APPS: "{}" }, /expected a JSON list/],
    [{ PUSHER_APPS: '[{"id":"1","key":"k"}]' }, /"secret" is required/],
    [
      { PUSHER_APPS: '[{"id":"1","key":"k","secret":"s","colour":1}]' },
      /PUSHER_APPS\[0\]: unknown field "colour"/,
    ],
    [
      {
        PUSHER_APPS:
          '[{"id":"1","key":"k","secret":"s","enable_client_messages":"yes"}]',
      },
      /enable_client_messages: expected a bool/,
    ],
    [
      {
        PUSHER_APPS:
          '[{"id":"1","key":"k","secret":"s","max_event_batch_size":0}]',
      },
      /max_event_batch_size must be at least 1/,
    ],
    [{ PUSHER_APPS: '[{"id":"a b","key":"k","secret":"s"}]' }, /id and key/],
    [
      {
        PUSHER_APP_ID: "1",
        PUSHER_APP_KEY: "k",
        PUSHER_APP_SECRET: "s",
        PUSHER_APPS: '[{"id":"2","key":"k","secret":"s"}]',
      },
      /used twice/,
    ],
    [
      {
        PUSHER_APP_ID: "1",
        PUSHER_APP_KEY: "k",
        PUSHER_APP_SECRET: "s",
        PUSHER_APP_ENABLE_CLIENT_MESSAGES: "maybe",
      },
      /PUSHER_APP_ENABLE_CLIENT_MESSAGES/,
    ],
  ];
  for (const [vars, message] of bad) {
    assert.throws(
      () => parsePusherApps(env(vars)),
      message,
      JSON.stringify(vars),
    );
  }
});

Deno.test("PusherApps looks apps up by key and by id", () => {
  const apps = new PusherApps([DEMO_APP]);
  assert.equal(apps.size, 1);
  assert.equal(apps.byKey("app-key")?.id, "app-id");
  assert.equal(apps.byId("app-id")?.key, "app-key");
  assert.equal(apps.byKey("app-id"), undefined);
});
