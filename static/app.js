// roomcast chat demo, on the bundled SDK (/sdk.js, built by
// `deno task build:sdk`); rendering is in view.js, demo tokens in auth.js.
// In the developer console: `roomcast` is the client and `await ping()`
// measures the round-trip time.
//
// Identity is per tab (sessionStorage): two tabs of one browser are two
// members. A server that needs a token and mints no demo ones (GET
// /client-config says so) gets an explanation and a token field instead of
// a connection that fails for ever.
//
// Page URL parameters (for tests and debugging): `?user=<id>` sets the
// member id, `?token=<jwt>` the token, and `minReconnectDelayMs` /
// `maxReconnectDelayMs` the SDK's reconnect backoff.

import { createClient } from "/sdk.js";
import { demoAuth } from "/auth.js";
import {
  append,
  byId,
  clearMessages,
  MAX_TEXT,
  messageItem,
  notice,
  randomId,
  readChat,
  setDelivery,
  showMembers,
} from "/view.js";

const status = byId("status");
const transportLabel = byId("transport");
const banner = byId("banner");
const nameInput = /** @type {HTMLInputElement} */ (byId("name"));
const roomInput = /** @type {HTMLInputElement} */ (byId("room"));
const roomError = byId("room-error");
const textInput = /** @type {HTMLTextAreaElement} */ (byId("text"));
const textCount = byId("text-count");
const textError = byId("text-error");
const sendButton = /** @type {HTMLButtonElement} */ (byId("send"));
const joinButton = /** @type {HTMLButtonElement} */ (byId("join"));
const identityLabel = byId("identity");
const currentRoom = byId("current-room");
const members = byId("members");
const roomsNav = byId("rooms");

const params = new URLSearchParams(location.search);
const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;
const ROOM_PATTERN = /^[A-Za-z0-9_.:@=,;-]{1,200}$/;
const ROOM_RULE = "1-200 letters, digits or _ . : @ = , ; - (no spaces)";
/** Latest messages shown on joining a room. */
const HISTORY = 50;
/** Rooms kept in the switcher. */
const MAX_ROOMS = 6;
const store = sessionStorage; // Per tab: each tab is its own member.

/** The member id: `?user=` when valid, else a random one for this tab. */
function userId() {
  const fromUrl = params.get("user");
  if (fromUrl !== null && ID_PATTERN.test(fromUrl)) return fromUrl;
  const stored = store.getItem("roomcast.user");
  if (stored !== null && ID_PATTERN.test(stored)) return stored;
  const id = randomId("u-");
  store.setItem("roomcast.user", id);
  return id;
}

/** SDK options from the page URL: reconnect delays, for tests. */
function urlOptions() {
  /** @type {Record<string, number>} */
  const options = {};
  for (const name of ["minReconnectDelayMs", "maxReconnectDelayMs"]) {
    const value = Number(params.get(name) ?? NaN);
    if (Number.isFinite(value) && value > 0) options[name] = value;
  }
  return options;
}

/** What the server says a page needs (no secrets); {} from older servers. */
async function clientConfig() {
  try {
    const response = await fetch("/client-config");
    return response.ok ? await response.json() : {};
  } catch {
    return {};
  }
}

nameInput.value = store.getItem("roomcast.name") ?? "";
const user = userId();
const auth = demoAuth({
  user,
  name: () => nameInput.value.trim(),
  changed: showIdentity,
});
const config = await clientConfig();
/** A token pasted or given in the URL, when the server needs one it does not mint. */
let pastedToken = params.get("token") ?? "";
/** @type {ReturnType<typeof createClient> | undefined} */
let client;
/** The room shown ("" before the first join). */
let room = "";
/** Set once the server ended the session for good: nothing works any more. */
let ended = false;
/** Our messages by client id, until the server's echo or ack says delivered. */
const ours = new Map();

if (config.tokenRequired === true && config.demoTokens !== true) {
  if (typeof config.tokenDocs === "string") {
    byId("token-docs").textContent = config.tokenDocs;
  }
  if (pastedToken === "") askForToken();
  else start();
} else {
  start();
}

/** The server needs a token this page cannot get: say so, and take one. */
function askForToken() {
  byId("token-help").hidden = false;
  status.dataset.state = "disconnected";
  status.textContent = "needs a token";
  joinButton.disabled = true;
  byId("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = /** @type {HTMLInputElement} */ (byId("token")).value.trim();
    if (value === "") return;
    pastedToken = value;
    byId("token-help").hidden = true;
    joinButton.disabled = false;
    start();
  }, { once: true });
  byId("token").focus();
}

function start() {
  const tokenMode = pastedToken !== "";
  if (tokenMode) showIdentity({ mode: "token", user, name: "token holder" });
  client = createClient(new URL("/ws", location.href), {
    user: auth.identity.user, // Anonymous mode; a token names the member itself.
    token: tokenMode ? () => pastedToken : auth.token,
    ...urlOptions(),
  });
  wire(client);
  Object.assign(globalThis, { roomcast: client });
  const last = store.getItem("roomcast.room");
  if (last !== null && ROOM_PATTERN.test(last)) roomInput.value = last;
  renderRooms();
}

/** @param {import("/auth.js").Identity} identity */
function showIdentity(identity) {
  identityLabel.dataset.mode = identity.mode;
  if (identity.mode === "pending") {
    identityLabel.textContent = "";
    return;
  }
  identityLabel.textContent = `as ${identity.name || "anonymous"}`;
  identityLabel.title = identity.mode === "token"
    ? `Token for user ${identity.user}` +
      (identity.expiresAt === undefined
        ? ""
        : `, valid until ${new Date(identity.expiresAt).toLocaleTimeString()}`)
    : `Anonymous (the server mints no tokens), user ${identity.user}`;
}

/** The name to show: the token's, or the one typed in (anonymous). */
function displayName() {
  const { mode, name } = auth.identity;
  return (mode === "token" ? name : nameInput.value.trim()) || "anonymous";
}

/** @param {string} text @param {number} [hideAfterMs] */
function showBanner(text, kind, hideAfterMs) {
  banner.hidden = false;
  banner.dataset.kind = kind;
  banner.textContent = text;
  if (hideAfterMs !== undefined) {
    const shown = text;
    setTimeout(() => {
      if (banner.textContent === shown) banner.hidden = true;
    }, hideAfterMs);
  }
}

/** @param {ReturnType<typeof createClient>} c */
function wire(c) {
  let wasOffline = false;
  const showState = (/** @type {string} */ state) => {
    status.dataset.state = state;
    const failed = c.failedConnects;
    status.textContent = state === "connecting" && failed >= 3
      ? `connecting (${failed} attempts failed)`
      : state;
    if (ended) return;
    if (state === "connected") {
      if (wasOffline) showBanner("Back online", "ok", 4000);
      wasOffline = false;
      return;
    }
    if (room !== "" || wasOffline) {
      wasOffline = true;
      members.dataset.stale = "true";
      showBanner(
        "Offline, reconnecting… Messages you send now wait and go out once back." +
          (failed >= 3 && pastedToken !== ""
            ? " (Still failing: the server may refuse the token; its log says why.)"
            : ""),
        "warn",
      );
    }
  };
  showState(c.state);
  c.on("state", ({ newState }) => showState(newState));
  // WebSocket, or the SSE + HTTP fallback where WebSocket is blocked.
  const showTransport = () => {
    transportLabel.dataset.transport = c.transport;
    transportLabel.textContent = c.transport === "sse"
      ? "SSE fallback"
      : "WebSocket";
    transportLabel.title = c.transport === "sse"
      ? "WebSocket is blocked on the way to the server: this page uses Server-Sent Events and HTTP POSTs (it tries WebSocket again now and then)"
      : "This page reaches the server over a WebSocket";
  };
  showTransport();
  c.on("transport", showTransport);

  c.on("joined", (joined) => {
    if (joined.room !== room) return;
    currentRoom.textContent = `#${room}`;
    currentRoom.title = room;
    currentRoom.dataset.joined = room;
    setComposer(true);
    if (!joined.resumed && (joined.history ?? 0) > 0) {
      notice(`Recent messages (${joined.history})`);
    }
    if (!joined.resumed) textInput.focus();
  });
  c.on("members", (event) => {
    if (event.room !== room) return;
    delete members.dataset.stale;
    showMembers(members, event.members);
  });
  c.on("message", (message) => {
    if (message.room !== room) return;
    const chat = readChat(message.data, message.from);
    const mine = chat.cid === undefined ? undefined : ours.get(chat.cid);
    if (mine !== undefined) {
      mine.dataset.offset = String(message.offset);
      setDelivery(mine, "delivered");
      ours.delete(chat.cid);
      return;
    }
    const item = messageItem(chat, message.ts);
    item.dataset.offset = String(message.offset);
    if (message.from === c.connectionId) item.classList.add("mine");
    append(item);
  });
  c.on("recovery", ({ room: where, recovered }) => {
    if (where === room && !recovered) {
      notice("Some messages could not be recovered while offline");
    }
  });
  c.on("error", (error) => {
    if (error.room !== undefined && error.room === room) {
      notice(`Could not join #${room}: ${error.message}`);
      room = "";
      showMembers(members, []);
      currentRoom.textContent = "Not in a room";
      delete currentRoom.dataset.joined;
      setComposer(false);
      return;
    }
    notice(`Server error: ${error.message}`);
  });
  c.on("close", ({ code, reason, willReconnect }) => {
    if (willReconnect) return;
    ended = true;
    setComposer(false);
    joinButton.disabled = true;
    nameInput.disabled = roomInput.disabled = true;
    for (const button of roomsNav.querySelectorAll("button")) {
      button.disabled = true;
    }
    const why = code === 4500
      ? "The server ended this session (a logout or a ban)."
      : `Disconnected for good (${code}${reason ? `: ${reason}` : ""}).`;
    showBanner(`${why} Reload the page to connect again.`, "error");
    notice(why);
  });
}

/** @param {boolean} enabled */
function setComposer(enabled) {
  textInput.disabled = !enabled || ended;
  textInput.placeholder = enabled && !ended
    ? `Message #${room}`
    : ended
    ? "Session ended"
    : "Join a room to chat";
  checkText();
}

/** Validates the room field; shows why inline. */
function checkRoom() {
  const value = roomInput.value.trim();
  const ok = ROOM_PATTERN.test(value);
  roomInput.setAttribute("aria-invalid", String(!ok));
  roomError.textContent = ok
    ? ""
    : value === ""
    ? "Enter a room name"
    : `Room names are ${ROOM_RULE}`;
  return ok;
}
roomInput.addEventListener("input", checkRoom);

/** Counts the message and says when it is too long (never cut). */
function checkText() {
  const length = textInput.value.length;
  textCount.textContent = `${length} / ${MAX_TEXT}`;
  const over = length - MAX_TEXT;
  textInput.setAttribute("aria-invalid", String(over > 0));
  textError.textContent = over > 0
    ? `${over} characters too long: shorten it to send`
    : "";
  sendButton.disabled = textInput.disabled || over > 0 ||
    textInput.value.trim() === "";
}
textInput.addEventListener("input", checkText);
textInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    byId("send-form").requestSubmit();
  }
});

nameInput.addEventListener("change", () => {
  store.setItem("roomcast.name", nameInput.value.trim());
  auth.renamed();
  // Others see the token's name: a new name needs a new token.
  if (auth.stale()) client?.reconnect();
});

byId("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!checkRoom()) {
    roomInput.focus();
    return;
  }
  switchTo(roomInput.value.trim());
});

/** Joins `next` (with its recent history) and leaves the room shown. */
function switchTo(next) {
  if (client === undefined || ended) return;
  if (auth.stale()) client.reconnect(); // Before the join: once is enough.
  if (next === room) return;
  try {
    client.join(next, { meta: { name: displayName() }, history: HISTORY });
  } catch (error) {
    roomError.textContent = error instanceof Error
      ? error.message
      : String(error);
    return;
  }
  if (room !== "") client.leave(room);
  room = next;
  roomInput.value = next;
  store.setItem("roomcast.room", next);
  remember(next);
  clearMessages();
  ours.clear();
  showMembers(members, []);
  currentRoom.textContent = `Joining #${room}…`;
  currentRoom.title = room;
  delete currentRoom.dataset.joined;
  setComposer(false);
}

/** @param {string} name */
function remember(name) {
  const list = readRooms().filter((r) => r !== name);
  list.unshift(name);
  store.setItem("roomcast.rooms", JSON.stringify(list.slice(0, MAX_ROOMS)));
  renderRooms();
}

/** @returns {string[]} */
function readRooms() {
  try {
    const list = JSON.parse(store.getItem("roomcast.rooms") ?? "[]");
    return Array.isArray(list)
      ? list.filter((r) => typeof r === "string" && ROOM_PATTERN.test(r))
      : [];
  } catch {
    return [];
  }
}

function renderRooms() {
  const list = readRooms();
  roomsNav.hidden = list.length === 0;
  roomsNav.replaceChildren(...list.map((name) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "room-chip";
    button.textContent = `#${name}`;
    button.title = `Switch to #${name}`;
    if (name === room) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => switchTo(name));
    return button;
  }));
}

byId("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = textInput.value.trim();
  if (client === undefined || ended || room === "" || text === "") return;
  if (text.length > MAX_TEXT) return; // checkText() says why.
  const cid = randomId("c");
  const data = { name: displayName(), text, cid };
  const item = messageItem(data, Date.now());
  item.classList.add("mine");
  item.dataset.cid = cid;
  setDelivery(item, "pending");
  append(item);
  ours.set(cid, item);
  if (ours.size > 200) ours.delete(ours.keys().next().value);
  textInput.value = "";
  checkText();
  publish(room, data, item);
});

/**
 * Publishes one of ours; offline, the SDK queues it and sends it after the
 * rejoin. The ack or the echo marks it delivered, whichever comes first.
 * @param {string} where @param {{name: string, text: string, cid: string}} data
 * @param {HTMLElement} item
 */
function publish(where, data, item) {
  if (client === undefined || ended) return;
  client.publish(where, data).then(() => {
    // Kept in `ours`: the echo may still come, and must not show twice.
    setDelivery(item, "delivered");
  }, (error) => {
    if (item.dataset.delivery === "delivered") return;
    setDelivery(item, "failed", {
      reason: error instanceof Error ? error.message : String(error),
      retry: () => {
        setDelivery(item, "pending");
        publish(where, data, item);
      },
    });
  });
}

checkText();

// Developer console helper.
Object.assign(globalThis, {
  /** Logs and returns the round-trip time to the server in ms. */
  async ping() {
    if (client === undefined) throw new Error("Not connected");
    const ms = await client.ping();
    // deno-lint-ignore no-console
    console.log(`roomcast: round trip ${ms.toFixed(1)} ms`);
    return ms;
  },
});
