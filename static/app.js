// roomcast chat demo: one room at a time, on the bundled SDK (/sdk.js, built
// by `deno task build:sdk`). User data is only ever rendered with
// textContent. In the developer console: `roomcast` is the client and
// `await ping()` measures the round-trip time.
//
// Sign-in (auth.js): in development mode the SDK gets a demo token from
// POST /token before every connection, and the display name is the token's;
// against a server without /token the demo connects anonymously.
//
// Page URL parameters (for tests and debugging): `?user=<id>` overrides the
// member id kept in localStorage (tabs of one browser profile share it, so
// they are one member), and `minReconnectDelayMs` / `maxReconnectDelayMs`
// override the SDK's reconnect backoff.

import { createClient } from "/sdk.js";
import { demoAuth } from "/auth.js";

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`Missing element "#${id}"`);
  return element;
}

const status = byId("status");
const nameInput = byId("name");
const roomInput = byId("room");
const textInput = byId("text");
const sendButton = byId("send");
const identityLabel = byId("identity");
const currentRoom = byId("current-room");
const members = byId("members");
const messages = byId("messages");

const params = new URLSearchParams(location.search);
const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** The member id: `?user=` when valid, else a random one kept in localStorage. */
function userId() {
  const fromUrl = params.get("user");
  if (fromUrl !== null && ID_PATTERN.test(fromUrl)) return fromUrl;
  const stored = localStorage.getItem("roomcast.user");
  if (stored !== null && ID_PATTERN.test(stored)) return stored;
  // getRandomValues works on plain http too (randomUUID needs a secure context).
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const id = `u-${
    [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
  localStorage.setItem("roomcast.user", id);
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

// Before the client: its first token carries the stored name.
nameInput.value = localStorage.getItem("roomcast.name") ?? "";

const auth = demoAuth({
  user: userId(),
  name: () => nameInput.value.trim(),
  changed: showIdentity,
});

const client = createClient(new URL("/ws", location.href), {
  user: auth.identity.user, // Anonymous mode; a token names the member itself.
  token: auth.token,
  ...urlOptions(),
});

/** The room shown ("" before the first join). */
let room = "";

nameInput.addEventListener("change", () => {
  localStorage.setItem("roomcast.name", nameInput.value.trim());
  auth.renamed();
  // Others see the token's name: a new name needs a new token.
  if (auth.stale()) client.reconnect();
});

/** The name to show: the token's, or the one typed in (anonymous). */
function displayName() {
  const { mode, name } = auth.identity;
  return (mode === "token" ? name : nameInput.value.trim()) || "anonymous";
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
    ? `Demo token for user ${identity.user}` +
      (identity.expiresAt === undefined
        ? ""
        : `, valid until ${new Date(identity.expiresAt).toLocaleTimeString()}`)
    : `Anonymous (the server mints no tokens), user ${identity.user}`;
}

/** @param {string} state */
function showState(state) {
  status.dataset.state = state;
  // A refused token and an unreachable server look alike: say it is retrying.
  const failed = client.failedConnects;
  status.textContent = state === "connecting" && failed >= 3
    ? `connecting (${failed} attempts failed)`
    : state;
}
showState(client.state);
client.on("state", ({ newState }) => showState(newState));

byId("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const next = roomInput.value.trim();
  if (auth.stale()) client.reconnect(); // Before the join: once is enough.
  if (next === room) return;
  const name = displayName();
  try {
    client.join(next, { meta: { name } });
  } catch (error) {
    notice(error instanceof Error ? error.message : String(error));
    return;
  }
  if (room !== "") client.leave(room);
  room = next;
  messages.replaceChildren();
  showMembers([]);
  currentRoom.textContent = `Joining #${room}…`;
  delete currentRoom.dataset.joined;
});

client.on("joined", (joined) => {
  if (joined.room !== room) return;
  currentRoom.textContent = `#${room}`;
  currentRoom.dataset.joined = room;
  textInput.disabled = sendButton.disabled = false;
  textInput.placeholder = `Message #${room}`;
  if (!joined.resumed) textInput.focus();
});

client.on("members", (event) => {
  if (event.room === room) showMembers(event.members);
});

/**
 * Shows "2 online: alice, bob" (names from each member's meta).
 * @param {Array<{id: string, meta: unknown}>} list
 */
function showMembers(list) {
  if (list.length === 0) {
    members.textContent = "—";
    return;
  }
  const names = list.map(memberName).sort((a, b) => a.localeCompare(b));
  members.textContent = `${list.length} online: ${names.join(", ")}`;
}

/** @param {{id: string, meta: unknown}} member */
function memberName({ id, meta }) {
  if (typeof meta === "object" && meta !== null && "name" in meta) {
    const { name } = meta;
    if (typeof name === "string" && name !== "") return name;
  }
  return id;
}

client.on("message", (message) => {
  if (message.room !== room) return;
  const { name, text } = readChat(message.data);
  const item = document.createElement("li");
  item.dataset.offset = String(message.offset);
  if (message.from === client.connectionId) item.classList.add("mine");
  const who = document.createElement("span");
  who.className = "name";
  who.textContent = name;
  const when = document.createElement("time");
  const date = new Date(message.ts);
  when.dateTime = date.toISOString();
  when.title = date.toLocaleString();
  when.textContent = date.toLocaleTimeString();
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  item.append(who, when, body);
  append(item);
});

client.on("recovery", ({ room: where, recovered }) => {
  if (where === room && !recovered) {
    notice("Some messages could not be recovered while offline");
  }
});
client.on("error", (error) => {
  if (error.room !== undefined && error.room === room) {
    // The server refused the join: the SDK is no longer in the room.
    notice(`Could not join #${room}: ${error.message}`);
    room = "";
    showMembers([]);
    currentRoom.textContent = "Not in a room";
    delete currentRoom.dataset.joined;
    textInput.disabled = sendButton.disabled = true;
    return;
  }
  notice(`Server error: ${error.message}`);
});
client.on("close", ({ code, reason, willReconnect }) => {
  if (!willReconnect) notice(`Disconnected (${code}) ${reason}`);
  else showState(client.state);
});

byId("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = textInput.value.trim();
  if (text === "" || room === "") return;
  const name = displayName();
  textInput.value = "";
  // While offline the SDK queues it and sends it after the rejoin.
  client.publish(room, { name, text }).catch((error) => {
    notice(`Not sent: ${error.message}`);
    if (textInput.value === "") textInput.value = text;
  });
});

/**
 * The chat fields of a message's data; anything else is shown as JSON.
 * @param {unknown} data
 */
function readChat(data) {
  if (typeof data === "object" && data !== null && !Array.isArray(data)) {
    const { name, text } = data;
    if (typeof text === "string") {
      return { name: typeof name === "string" ? name : "anonymous", text };
    }
  }
  return { name: "(unknown)", text: JSON.stringify(data) };
}

/** @param {string} text */
function notice(text) {
  const item = document.createElement("li");
  item.className = "notice";
  item.textContent = text;
  append(item);
}

/** @param {HTMLElement} item */
function append(item) {
  const atBottom =
    messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
  messages.append(item);
  if (atBottom) messages.scrollTop = messages.scrollHeight;
}

// Developer console helpers.
Object.assign(globalThis, {
  roomcast: client,
  /** Logs and returns the round-trip time to the server in ms. */
  async ping() {
    const ms = await client.ping();
    // deno-lint-ignore no-console
    console.log(`roomcast: round trip ${ms.toFixed(1)} ms`);
    return ms;
  },
});
