import assert from "node:assert/strict";
import { DEFAULT_CONFIG, parseConfig } from "./config.ts";
import { DEFAULT_APP_LIMITS } from "./pusher_apps.ts";

Deno.test("parseConfig() returns the defaults for an empty environment", () => {
  assert.deepEqual(parseConfig(new Map()), DEFAULT_CONFIG);
  assert.equal(DEFAULT_CONFIG.port, 8000);
  assert.equal(DEFAULT_CONFIG.host, "0.0.0.0");
  assert.equal(DEFAULT_CONFIG.maxMessageBytes, 65_536);
});

Deno.test("parseConfig() reads every variable", () => {
  const env: Record<string, string> = {
    PORT: "9001",
    HOST: "127.0.0.1",
    MAX_MESSAGE_BYTES: "1024",
    MAX_BUFFERED_BYTES: "2048",
    HEARTBEAT_MS: "500",
    IDLE_TIMEOUT_S: "0",
    SHUTDOWN_TIMEOUT_MS: "10",
    WORKERS: "3",
    BUS: "none",
    BUS_CHANNEL: "x",
    LOG_LEVEL: "debug",
    HISTORY: "memory",
    KV_PATH: "/tmp/x.kv",
    HISTORY_WRITE: "through",
    HISTORY_FLUSH_MS: "25",
    HISTORY_BACKLOG_BYTES: "1000000",
    HISTORY_MAX_LAG_MS: "500",
    HISTORY_SIZE: "10",
    HISTORY_TTL_MS: "2000",
    HISTORY_ROOM_BYTES: "4096",
    HISTORY_MEMORY_BYTES: "65536",
    MAX_JSON_DEPTH: "16",
    MAX_HISTORY_READ: "40",
    REPAIR_DELAY_MS: "5",
    PRESENCE_INTERVAL_MS: "50",
    PRESENCE_TIMEOUT_MS: "200",
    PRESENCE_WATCH_MAX: "17",
    REDIS_RELAY_MAX_PENDING: "512",
    REDIS_TRACKED_ROOMS: "99",
    REDIS_URL: "redis://127.0.0.1:6400",
    REDIS_PREFIX: "app1",
    REDIS_CLUSTER: "1",
    BUS_UNSUBSCRIBE_GRACE_MS: "250",
    AUTH_SECRET: "s3cret-s3cret-s3cret",
    AUTH_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----",
    AUTH_PUBLIC_KEY_ALG: "ES256",
    AUTH_AUDIENCE: "aud",
    AUTH_ISSUER: "iss",
    AUTH_LEEWAY_S: "5",
    ALLOW_ANONYMOUS: "1",
    ALLOWED_ORIGINS: "https://a.example, https://b.example",
    API_KEY: "k",
    METRICS_TOKEN: "m",
    RATE_LIMIT_PER_S: "2",
    RATE_LIMIT_BURST: "3",
    RATE_LIMIT_STRIKES: "4",
    MAX_ROOMS_PER_CONNECTION: "5",
    MAX_PENDING_MESSAGES: "55",
    MAX_CONNECTIONS_PER_IP: "6",
    MAX_UPGRADES_PER_S_PER_IP: "7",
    MAX_CONNECTIONS: "8",
    COALESCE_MS: "3",
    COALESCE_MAX_MESSAGES: "64",
    FRAMES_PER_TURN: "500",
    FANOUT_MAX_WAITING: "2000",
    REFUSAL_LOG_INTERVAL_MS: "500",
    REFUSAL_LOG_MAX_CAUSES: "9",
    SSE_HEARTBEAT_MS: "1500",
    SSE_SESSION_IDLE_MS: "2500",
    SSE_MAX_SESSIONS: "12",
    SSE_ROUTE_TIMEOUT_MS: "700",
    TLS_CERT_FILE: "c.pem",
    TLS_KEY_FILE: "k.pem",
    PUSHER_APP_ID: "7",
    PUSHER_APP_KEY: "pk",
    PUSHER_APP_SECRET: "ps",
    PUSHER_APP_ENABLE_CLIENT_MESSAGES: "1",
    PUSHER_ACTIVITY_TIMEOUT_S: "60",
    ADMIN_TOKEN: "at",
    ADMIN_READ_ONLY: "1",
    ADMIN_SESSION_TTL_S: "120",
    ADMIN_MAX_SESSIONS: "3",
    ADMIN_STATS_INTERVAL_MS: "500",
    ADMIN_SERIES_S: "60",
    ADMIN_MAX_NODES: "4",
    ADMIN_STATS_ROOMS: "5",
    ADMIN_TRACKED_ROOMS: "6",
    ADMIN_MAX_TAILS: "7",
    ADMIN_TAIL_BUFFER_BYTES: "2048",
    PUSHER_APP_ENABLE_SUBSCRIPTION_COUNT: "1",
    PUSHER_SUBSCRIPTION_COUNT_MS: "250",
    PUSHER_MAX_COUNTED_CHANNELS: "99",
    PUSHER_WEBHOOK_URL: "http://127.0.0.1:9/h",
    PUSHER_WEBHOOK_EVENTS: "cache_miss",
    WEBHOOK_VACATE_DELAY_MS: "11",
    WEBHOOK_COUNT_DELAY_MS: "12",
    WEBHOOK_TIMEOUT_MS: "13",
    WEBHOOK_RETRY_MS: "14",
    WEBHOOK_BACKOFF_MS: "15",
    WEBHOOK_BACKOFF_MAX_MS: "16",
    WEBHOOK_BATCH_SIZE: "17",
    WEBHOOK_QUEUE_MAX: "18",
    WEBHOOK_QUEUE_BYTES: "1900",
    WEBHOOK_POLL_MS: "20",
    WEBHOOK_LEASE_MS: "2100",
    WEBHOOK_STATE_TTL_MS: "2200",
  };
  assert.deepEqual(parseConfig(new Map(Object.entries(env))), {
    adminToken: "at",
    adminReadOnly: true,
    adminSessionTtlS: 120,
    adminMaxSessions: 3,
    adminStatsIntervalMs: 500,
    adminSeriesS: 60,
    adminMaxNodes: 4,
    adminStatsRooms: 5,
    adminTrackedRooms: 6,
    adminMaxTails: 7,
    adminTailBufferBytes: 2048,
    port: 9001,
    host: "127.0.0.1",
    maxMessageBytes: 1024,
    maxJsonDepth: 16,
    maxHistoryRead: 40,
    maxBufferedBytes: 2048,
    heartbeatMs: 500,
    idleTimeoutS: 0,
    shutdownTimeoutMs: 10,
    sseHeartbeatMs: 1500,
    sseMaxSessions: 12,
    sseRouteTimeoutMs: 700,
    sseSessionIdleMs: 2500,
    workers: 3,
    bus: "none",
    busChannel: "x",
    logLevel: "debug",
    history: "memory",
    kvPath: "/tmp/x.kv",
    historyWrite: "through",
    historyFlushMs: 25,
    historyBacklogBytes: 1_000_000,
    historyMaxLagMs: 500,
    historySize: 10,
    historyTtlMs: 2000,
    historyRoomBytes: 4096,
    historyMemoryBytes: 65536,
    repairDelayMs: 5,
    presenceIntervalMs: 50,
    presenceTimeoutMs: 200,
    presenceWatchMax: 17,
    redisRelayMaxPending: 512,
    redisTrackedRooms: 99,
    redisUrl: "redis://127.0.0.1:6400",
    redisPrefix: "app1",
    redisCluster: true,
    busUnsubscribeGraceMs: 250,
    authSecret: "s3cret-s3cret-s3cret",
    authPublicKey: "-----BEGIN PUBLIC KEY-----",
    authPublicKeyAlg: "ES256",
    authAudience: "aud",
    authIssuer: "iss",
    authLeewayS: 5,
    allowAnonymous: true,
    dev: false,
    allowedOrigins: ["https://a.example", "https://b.example"],
    apiKey: "k",
    metricsToken: "m",
    rateLimitPerS: 2,
    rateLimitBurst: 3,
    rateLimitStrikes: 4,
    maxRoomsPerConnection: 5,
    maxPendingMessages: 55,
    maxConnectionsPerIp: 6,
    maxUpgradesPerSPerIp: 7,
    maxConnections: 8,
    coalesceMs: 3,
    coalesceMaxMessages: 64,
    framesPerTurn: 500,
    fanoutMaxWaiting: 2000,
    refusalLogIntervalMs: 500,
    refusalLogMaxCauses: 9,
    tlsCertFile: "c.pem",
    tlsKeyFile: "k.pem",
    pusherApps: [{
      ...DEFAULT_APP_LIMITS,
      id: "7",
      key: "pk",
      secret: "ps",
      enableClientMessages: true,
      enableSubscriptionCount: true,
      webhooks: [{ url: "http://127.0.0.1:9/h", eventTypes: ["cache_miss"] }],
    }],
    pusherActivityTimeoutS: 60,
    pusherAppId: "7",
    pusherAppKey: "pk",
    pusherAppSecret: "ps",
    pusherAppEnableClientMessages: true,
    pusherAppEnableSubscriptionCount: true,
    pusherSubscriptionCountMs: 250,
    pusherMaxCountedChannels: 99,
    pusherAppsJson: "",
    pusherWebhookUrl: "http://127.0.0.1:9/h",
    pusherWebhookEvents: ["cache_miss"],
    webhookVacateDelayMs: 11,
    webhookCountDelayMs: 12,
    webhookTimeoutMs: 13,
    webhookRetryMs: 14,
    webhookBackoffMs: 15,
    webhookBackoffMaxMs: 16,
    webhookBatchSize: 17,
    webhookQueueMax: 18,
    webhookQueueBytes: 1900,
    webhookPollMs: 20,
    webhookLeaseMs: 2100,
    webhookStateTtlMs: 2200,
  });
});

Deno.test("parseConfig() allows anonymous clients by default only in dev mode", () => {
  assert.equal(parseConfig(new Map()).allowAnonymous, false);
  assert.equal(parseConfig(new Map(), { dev: true }).allowAnonymous, true);
  assert.equal(
    parseConfig(new Map([["ALLOW_ANONYMOUS", "0"]]), { dev: true })
      .allowAnonymous,
    false,
  );
});

Deno.test("parseConfig() names the variable of a bad value", () => {
  const cases: Array<[string, string]> = [
    ["PORT", "http"],
    ["PUSHER_ACTIVITY_TIMEOUT_S", "0"],
    ["PUSHER_APPS", "[{}]"],
    ["PUSHER_WEBHOOK_URL", "ftp://x"],
    ["PUSHER_WEBHOOK_EVENTS", "channel_opened"],
    ["WEBHOOK_QUEUE_MAX", "0"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["PORT", "80.5"],
    ["MAX_MESSAGE_BYTES", "1e6"],
    ["MAX_MESSAGE_BYTES", "10"],
    ["HOST", " "],
    ["BUS", "redis-ish"],
    ["LOG_LEVEL", "loud"],
    ["HISTORY", "redis"],
    ["HISTORY_SIZE", "0"],
    ["HISTORY_BACKLOG_BYTES", "1000"],
    ["HISTORY_MAX_LAG_MS", "10"], // not more than HISTORY_FLUSH_MS
    ["HISTORY_ROOM_BYTES", "10"],
    ["HISTORY_MEMORY_BYTES", "10"],
    ["MAX_JSON_DEPTH", "0"],
    ["MAX_JSON_DEPTH", "5000"],
    ["REDIS_URL", "localhost:6379"],
    ["ALLOW_ANONYMOUS", "maybe"],
    ["AUTH_PUBLIC_KEY_ALG", "none"],
    ["REFUSAL_LOG_INTERVAL_MS", "0"],
    ["REFUSAL_LOG_INTERVAL_MS", "3600001"],
    ["REFUSAL_LOG_MAX_CAUSES", "0"],
  ];
  for (const [name, value] of cases) {
    assert.throws(
      () => parseConfig(new Map([[name, value]])),
      (error: unknown) =>
        error instanceof RangeError && error.message.includes(name),
      `${name}=${value}`,
    );
  }
});

Deno.test("parseConfig() derives the default HISTORY_MAX_LAG_MS from a long HISTORY_FLUSH_MS", () => {
  assert.equal(parseConfig(new Map()).historyMaxLagMs, 1000);
  const slow = parseConfig(new Map([["HISTORY_FLUSH_MS", "1000"]]));
  assert.equal(slow.historyMaxLagMs, 2000);
});

Deno.test("parseConfig() takes the default worker count from options", () => {
  assert.equal(parseConfig(new Map(), { defaultWorkers: 0 }).workers, 0);
  assert.equal(
    parseConfig(new Map([["WORKERS", "2"]]), { defaultWorkers: 0 }).workers,
    2,
  );
});

Deno.test("parseConfig() uses the platform KV on Deno Deploy", () => {
  assert.equal(
    parseConfig(new Map([["DENO_DEPLOYMENT_ID", "abc"]])).kvPath,
    "",
  );
  assert.equal(parseConfig(new Map()).kvPath, "./data/roomcast.kv");
});

Deno.test("parseConfig() refuses ALLOWED_ORIGINS entries that are not origins", () => {
  for (
    const bad of [
      "localhost:8000",
      "https://a.example/",
      "a.example",
      "https://A.example",
    ]
  ) {
    assert.throws(
      () =>
        parseConfig(
          new Map([["ALLOWED_ORIGINS", `https://ok.example,${bad}`]]),
        ),
      (error: unknown) =>
        error instanceof RangeError &&
        error.message.startsWith(
          "Invalid ALLOWED_ORIGINS: expected origins like",
        ) &&
        error.message.endsWith(`got "${bad}"`),
      bad,
    );
  }
  const ok = parseConfig(
    new Map([[
      "ALLOWED_ORIGINS",
      "http://localhost:8000, https://[::1]:8443,chrome-extension://abc",
    ]]),
  );
  assert.deepEqual(ok.allowedOrigins, [
    "http://localhost:8000",
    "https://[::1]:8443",
    "chrome-extension://abc",
  ]);
});

Deno.test("parseConfig() refuses a short AUTH_SECRET without echoing it", () => {
  assert.throws(
    () => parseConfig(new Map([["AUTH_SECRET", "short-secret"]])),
    (error: unknown) =>
      error instanceof RangeError &&
      error.message ===
        "Invalid AUTH_SECRET: expected at least 16 characters, got 12 characters (not shown)",
  );
  assert.equal(
    parseConfig(new Map([["AUTH_SECRET", "0123456789abcdef"]])).authSecret,
    "0123456789abcdef",
  );
});
