/**
 * The dashboard page (`/admin`): login, then the overview (figures and
 * uPlot charts), nodes, rooms and a room's page, refreshed every
 * `ADMIN_STATS_INTERVAL_MS`. Bundled into `static/admin/admin.js` by
 * `deno task build:admin` (a dependency of `dev`, `start` and `test`).
 *
 * @module
 */

/// <reference lib="dom" />

import {
  ApiError,
  get,
  num,
  post,
  type SessionInfo,
  str,
  useCsrf,
} from "./api.ts";
import { Charts } from "./charts.ts";
import { RoomPage, showNodes, showRooms } from "./views.ts";

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`Missing element #${id}`);
  return node as T; // the page's own markup
}

let session: SessionInfo | undefined;
let charts: Charts | undefined;
let room: RoomPage | undefined;
let timer: ReturnType<typeof setInterval> | undefined;

async function readSession(): Promise<SessionInfo | undefined> {
  try {
    const info = await get("/session");
    return {
      csrf: str(info, "csrf"),
      readOnly: Reflect.get(Object(info), "readOnly") === true,
      node: str(info, "node"),
      intervalMs: num(info, "intervalMs") || 3000,
      seriesS: num(info, "seriesS") || 900,
    };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return undefined;
    throw error;
  }
}

function showLogin(message = ""): void {
  byId("login").hidden = false;
  byId("app").hidden = true;
  byId("nav").hidden = true;
  byId("logout").hidden = true;
  byId("mode").hidden = true;
  byId("login-error").textContent = message;
  clearInterval(timer);
}

async function start(): Promise<void> {
  session = await readSession();
  if (session === undefined) return showLogin();
  useCsrf(session.csrf);
  byId("login").hidden = true;
  byId("app").hidden = false;
  byId("nav").hidden = false;
  byId("logout").hidden = false;
  const mode = byId("mode");
  mode.hidden = false;
  mode.textContent = session.readOnly ? "read-only" : "operator";
  mode.dataset.mode = session.readOnly ? "read-only" : "operator";
  for (const node of document.querySelectorAll<HTMLElement>(".action")) {
    node.hidden = session.readOnly;
  }
  charts ??= new Charts(byId("charts"));
  await route();
  clearInterval(timer);
  timer = setInterval(() => refresh().catch(failed), session.intervalMs);
}

function failed(error: unknown): void {
  if (error instanceof ApiError && error.status === 401) {
    showLogin("Session ended: log in again");
  }
}

function view(): [string, string] {
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash.startsWith("room/")) return ["room", hash.slice(5)];
  return [["nodes", "rooms"].includes(hash) ? hash : "overview", ""];
}

async function route(): Promise<void> {
  const [name, arg] = view();
  for (const section of document.querySelectorAll<HTMLElement>("[data-view]")) {
    section.hidden = section.dataset.view !== name;
  }
  if (name !== "room" || room?.room !== arg) {
    room?.close();
    room = name === "room" && session
      ? new RoomPage(arg, session.readOnly)
      : undefined;
  }
  await refresh();
}

async function refresh(): Promise<void> {
  const [name] = view();
  if (name === "overview") {
    const [overview, series] = await Promise.all([
      get("/overview"),
      get(`/series?window=${session?.seriesS ?? 900}`),
    ]);
    const totals = Reflect.get(Object(overview), "totals");
    byId("fig-nodes").textContent = String(num(overview, "nodes"));
    byId("fig-connections").textContent = String(num(totals, "connections"));
    byId("fig-rooms").textContent = String(num(totals, "rooms"));
    byId("fig-publishes").textContent = String(num(totals, "publishes"));
    byId("fig-deliveries").textContent = String(num(totals, "deliveries"));
    byId("fig-backlog").textContent = String(num(totals, "historyBacklog"));
    charts?.update(series);
  } else if (name === "nodes") await showNodes();
  else if (name === "rooms") {
    await showRooms(byId<HTMLInputElement>("room-search").value);
  } else await room?.refresh();
}

byId("login").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>("token");
  fetch("/admin/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: input.value }),
  }).then(async (res) => {
    input.value = ""; // the token never stays in the page
    if (!res.ok) return showLogin("Wrong token");
    await start();
  }, () => showLogin("Could not reach the server"));
});

byId("logout").addEventListener("click", () => {
  room?.close();
  room = undefined;
  post("/admin/logout").finally(() => showLogin());
});

byId("room-search").addEventListener("input", () => refresh().catch(failed));
byId("publish-form").addEventListener("submit", (event) => {
  event.preventDefault();
  room?.publish(byId<HTMLInputElement>("publish-data").value);
});
byId("drop-history").addEventListener("click", () => room?.dropHistory());
addEventListener("hashchange", () => route().catch(failed));

start().catch(failed);
