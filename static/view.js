// The chat demo's rendering (used by app.js): messages with their pending,
// delivered and failed states, notices, members, and what a message's data
// means for a reader. User data is only ever rendered with textContent.

/** The longest message the demo sends, in characters (shown, never cut). */
export const MAX_TEXT = 2000;

/** @param {string} id */
export function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`Missing element "#${id}"`);
  return element;
}

const messages = byId("messages");

/**
 * What to show for a message's data: a chat message `{name, text}`, a plain
 * string, or any other JSON (an API publish), with a friendly sender.
 * @param {unknown} data
 * @param {string} from the publisher: a connection id, or "api"
 * @returns {{ name: string, text: string, cid?: string, raw?: boolean }}
 */
export function readChat(data, from) {
  const sender = from === "api" ? "API" : "someone";
  if (typeof data === "string") return { name: sender, text: data };
  if (typeof data === "object" && data !== null && !Array.isArray(data)) {
    const { name, text, cid } = /** @type {Record<string, unknown>} */ (data);
    if (typeof text === "string") {
      return {
        name: typeof name === "string" && name !== "" ? name : sender,
        text,
        ...(typeof cid === "string" ? { cid } : {}),
      };
    }
  }
  return { name: sender, text: JSON.stringify(data, null, 1), raw: true };
}

/**
 * A message item: sender, time, text and, for one of ours, its state.
 * @param {{ name: string, text: string, raw?: boolean }} chat
 * @param {number} ts
 */
export function messageItem(chat, ts) {
  const item = document.createElement("li");
  const who = document.createElement("span");
  who.className = "name";
  who.textContent = chat.name;
  const when = document.createElement("time");
  const date = new Date(ts);
  when.dateTime = date.toISOString();
  when.title = date.toLocaleString();
  when.textContent = date.toLocaleTimeString([], {
    hour: "2-digit",
    minute: "2-digit",
  });
  const body = document.createElement(chat.raw ? "pre" : "span");
  body.className = "text";
  body.textContent = chat.text;
  item.append(who, when, body);
  return item;
}

/**
 * Sets the delivery state of one of our messages: `pending` (queued or
 * sent, not acknowledged), `delivered`, or `failed` with a retry button.
 * @param {HTMLElement} item
 * @param {"pending" | "delivered" | "failed"} state
 * @param {{ reason?: string, retry?: () => void }} [options]
 */
export function setDelivery(item, state, options = {}) {
  item.dataset.delivery = state;
  item.querySelector(".delivery")?.remove();
  if (state === "delivered") return;
  const mark = document.createElement("span");
  mark.className = "delivery";
  mark.textContent = state === "pending"
    ? "sending…"
    : `not sent${options.reason ? `: ${options.reason}` : ""}`;
  if (state === "failed" && options.retry !== undefined) {
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "link";
    retry.textContent = "Retry";
    retry.addEventListener("click", options.retry, { once: true });
    mark.append(" ", retry);
  }
  item.append(mark);
}

/** @param {string} text */
export function notice(text) {
  const item = document.createElement("li");
  item.className = "notice";
  item.textContent = text;
  append(item);
}

/** @param {HTMLElement} item */
export function append(item) {
  const atBottom =
    messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
  messages.append(item);
  if (atBottom) messages.scrollTop = messages.scrollHeight;
}

/** Empties the message list. */
export function clearMessages() {
  messages.replaceChildren();
}

/**
 * Shows "2 online: alice, bob" (names from each member's meta).
 * @param {HTMLElement} element
 * @param {Array<{id: string, meta: unknown}>} list
 */
export function showMembers(element, list) {
  if (list.length === 0) {
    element.textContent = "—";
    return;
  }
  const names = list.map(memberName).sort((a, b) => a.localeCompare(b));
  element.textContent = `${list.length} online: ${names.join(", ")}`;
}

/** @param {{id: string, meta: unknown}} member */
function memberName({ id, meta }) {
  if (typeof meta === "object" && meta !== null && "name" in meta) {
    const { name } = meta;
    if (typeof name === "string" && name !== "") return name;
  }
  return id;
}

/** A random id; getRandomValues works on plain http too (randomUUID needs a secure context). */
export function randomId(prefix = "") {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return prefix +
    [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
