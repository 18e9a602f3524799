// roomcast chat demo: one room at a time, on the bundled SDK (/sdk.js, built
// by `deno task build:sdk`). User data is only ever rendered with
// textContent. In the developer console: `roomcast` is the client and
// `await ping()` measures the round-trip time.

import { createClient } from "/sdk.js";

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
const currentRoom = byId("current-room");
const members = byId("members");
const messages = byId("messages");

const client = createClient(new URL("/ws", location.href));

/** The room shown, and the distinct sender names seen in it. */
let room = "";
let senders = new Set();

nameInput.value = localStorage.getItem("roomcast.name") ?? "";
nameInput.addEventListener("change", () => {
  localStorage.setItem("roomcast.name", nameInput.value.trim());
});

/** @param {string} state */
function showState(state) {
  status.dataset.state = state;
  status.textContent = state;
}
showState(client.state);
client.on("state", ({ newState }) => showState(newState));

byId("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const next = roomInput.value.trim();
  if (next === room) return;
  try {
    client.join(next);
  } catch (error) {
    notice(error instanceof Error ? error.message : String(error));
    return;
  }
  if (room !== "") client.leave(room);
  room = next;
  senders = new Set();
  messages.replaceChildren();
  members.textContent = "—";
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
  senders.add(name);
  members.textContent = String(senders.size);
});

client.on("recovery", ({ room: where }) => {
  if (where === room) notice("Some messages were missed while offline");
});
client.on("error", (error) => notice(`Server error: ${error.message}`));
client.on("close", ({ code, reason, willReconnect }) => {
  if (!willReconnect) notice(`Disconnected (${code}) ${reason}`);
});

byId("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = textInput.value.trim();
  if (text === "" || room === "") return;
  const name = nameInput.value.trim() || "anonymous";
  textInput.value = "";
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
