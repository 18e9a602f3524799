/**
 * The dashboard's tables: nodes, rooms, and one room (presence, live tail
 * and actions). Text only: every value from the server is set as text.
 *
 * @module
 */

/// <reference lib="dom" />

import { bytes, el, field, get, list, num, post, str } from "./api.ts";

function byId(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`Missing element #${id}`);
  return node;
}

function duration(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h`;
}

/** Fills the nodes table from `GET /admin/api/nodes`. */
export async function showNodes(): Promise<void> {
  const nodes = list(await get("/nodes"), "nodes");
  byId("node-count").textContent = `(${nodes.length})`;
  const body = byId("nodes-body");
  body.replaceChildren(...nodes.map((n) => {
    const figures = field(n, "figures");
    const row = el("tr", "", { "data-node": str(n, "node") });
    const cells = [
      str(n, "node").slice(0, 8) + (field(n, "self") === true ? " (this)" : ""),
      str(n, "label"),
      str(n, "engine"),
      duration(num(n, "uptimeS")),
      String(num(figures, "connections")),
      String(num(figures, "rooms")),
      bytes(num(figures, "rssBytes")),
      `${num(figures, "lagMs")} ms`,
      str(n, "version"),
    ];
    row.append(...cells.map((c) => el("td", c)));
    return row;
  }));
}

/** Fills the rooms list from `GET /admin/api/rooms?q=`. */
export async function showRooms(query: string): Promise<void> {
  const answer = await get(`/rooms?q=${encodeURIComponent(query)}&limit=200`);
  const rooms = list(answer, "rooms");
  byId("room-count").textContent = `(${num(answer, "total")})`;
  byId("rooms-body").replaceChildren(...rooms.map((r) => {
    const name = str(r, "room");
    const row = el("tr", "", { "data-room": name });
    const link = el("a", name, { href: `#room/${encodeURIComponent(name)}` });
    const history = field(r, "history");
    const offset = field(r, "offset");
    row.append(
      wrap(link),
      el("td", String(num(r, "members"))),
      el("td", String(num(r, "subscribers"))),
      el("td", String(num(r, "nodes"))),
      el("td", typeof offset === "number" ? String(offset) : "–"),
      el("td", str(r, "epoch") || "–"),
      el(
        "td",
        typeof history !== "object" || history === null
          ? "n/a"
          : `${num(history, "messages")} (${bytes(num(history, "bytes"))})`,
      ),
      el("td", String(num(r, "perS"))),
    );
    return row;
  }));
}

function wrap(child: HTMLElement): HTMLElement {
  const cell = el("td");
  cell.append(child);
  return cell;
}

/** The open room page: its presence refreshes, its tail streams. */
export class RoomPage {
  readonly #room: string;
  readonly #readOnly: boolean;
  readonly #tail: EventSource;

  /** Opens `room`'s page. */
  constructor(room: string, readOnly: boolean) {
    this.#room = room;
    this.#readOnly = readOnly;
    byId("room-name").textContent = room;
    byId("tail").replaceChildren();
    byId("action-result").textContent = "";
    const state = byId("tail-state");
    state.textContent = "connecting";
    this.#tail = new EventSource(
      `/admin/api/rooms/${encodeURIComponent(room)}/tail`,
    );
    this.#tail.addEventListener("hello", (event) => {
      const hello: unknown = JSON.parse(event.data);
      state.textContent = field(hello, "payloads") === true
        ? "live"
        : "live (sizes only: read-only)";
    });
    this.#tail.onmessage = (event) => this.#line(event.data);
    this.#tail.onerror = () => state.textContent = "reconnecting";
  }

  /** The room shown. */
  get room(): string {
    return this.#room;
  }

  #line(text: string): void {
    const line: unknown = JSON.parse(text);
    const frame = str(line, "frame");
    const item = el(
      "li",
      `#${num(line, "offset")} · ${num(line, "bytes")} B${
        frame ? ` · ${frame}` : ""
      }`,
      { "data-offset": String(num(line, "offset")) },
    );
    const tail = byId("tail");
    tail.prepend(item);
    while (tail.childElementCount > 200) tail.lastElementChild?.remove();
  }

  /** Refreshes facts and presence from `GET /admin/api/rooms/:room`. */
  async refresh(): Promise<void> {
    const info = await get(`/rooms/${encodeURIComponent(this.#room)}`);
    const history = field(info, "history");
    const activity = field(info, "activity");
    byId("room-facts").textContent = [
      `offset ${num(info, "offset")}`,
      `epoch ${str(info, "epoch")}`,
      `subscribers ${num(info, "subscribers")} on ${
        list(info, "nodes").length
      } node(s)`,
      `history ${
        typeof history !== "object" || history === null
          ? "n/a"
          : `${num(history, "messages")} messages, ${
            bytes(num(history, "bytes"))
          }`
      }`,
      `${activity === null ? 0 : num(activity, "perS")} msg/s`,
    ].join(" · ");
    const members = list(info, "members");
    byId("presence-count").textContent = `(${members.length})`;
    byId("presence").replaceChildren(...members.map((m) => {
      const id = str(m, "id");
      const item = el("li", "", { "data-member": id });
      item.append(el("span", id), el("code", JSON.stringify(field(m, "meta"))));
      if (!this.#readOnly) {
        const button = el("button", "Terminate", {
          type: "button",
          class: "terminate",
        });
        button.onclick = () =>
          this.#act(
            `/admin/api/members/${encodeURIComponent(id)}/terminate`,
            undefined,
            `Terminated ${id}`,
          );
        item.append(button);
      }
      return item;
    }));
  }

  /** Publishes the test message in the form. */
  publish(data: string): void {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      byId("action-result").textContent = "The data is not JSON";
      return;
    }
    this.#act(`/admin/api/rooms/${encodeURIComponent(this.#room)}/messages`, {
      data: value,
    }, "Published");
  }

  /** Drops the room's history. */
  dropHistory(): void {
    this.#act(
      `/admin/api/rooms/${encodeURIComponent(this.#room)}/history/drop`,
      undefined,
      "History dropped",
    );
  }

  #act(url: string, body: unknown, done: string): void {
    const out = byId("action-result");
    post(url, body).then((answer) => {
      out.textContent = `${done}: ${JSON.stringify(answer)}`;
      return this.refresh();
    }, (error: unknown) => {
      out.textContent = `Refused: ${
        error instanceof Error ? error.message : String(error)
      }`;
    });
  }

  /** Stops the tail. */
  close(): void {
    this.#tail.close();
  }
}
