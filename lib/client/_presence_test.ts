import assert from "node:assert/strict";
import { PresenceTracker } from "./_presence.ts";
import type { MembersEvent, PresenceEvent } from "./types.ts";

function setup() {
  const events: Array<PresenceEvent | MembersEvent> = [];
  const tracker = new PresenceTracker({
    presence: (event) => events.push(event),
    members: (event) => events.push(event),
  });
  return { tracker, events };
}

const ann = { id: "ann", meta: { name: "Ann" } };
const bob = { id: "bob", meta: { name: "Bob" } };

Deno.test("PresenceTracker.reset() replaces the list and reports it", () => {
  const { tracker, events } = setup();
  assert.deepEqual(tracker.members("lobby"), []);
  tracker.reset("lobby", [ann, bob]);
  assert.deepEqual(tracker.members("lobby"), [ann, bob]);
  tracker.reset("lobby", [bob]); // Not merged: ann is gone.
  assert.deepEqual(tracker.members("lobby"), [bob]);
  assert.deepEqual(events, [
    { room: "lobby", members: [ann, bob] },
    { room: "lobby", members: [bob] },
  ]);
  // The list handed out is a copy.
  tracker.members("lobby").pop();
  assert.deepEqual(tracker.members("lobby"), [bob]);
});

Deno.test("PresenceTracker.apply() reports real changes only", () => {
  const { tracker, events } = setup();
  tracker.apply({ room: "lobby", event: "join", member: ann }); // List unknown.
  assert.deepEqual(events, []);
  tracker.reset("lobby", [ann]);
  events.length = 0;
  tracker.apply({ room: "lobby", event: "join", member: ann }); // Already there.
  tracker.apply({ room: "lobby", event: "leave", member: bob }); // Not there.
  assert.deepEqual(events, []);
  tracker.apply({ room: "lobby", event: "join", member: bob });
  tracker.apply({ room: "lobby", event: "leave", member: ann });
  const renamed = { id: "bob", meta: { name: "Bobby" } };
  tracker.apply({ room: "lobby", event: "join", member: renamed }); // Older servers.
  tracker.apply({ room: "lobby", event: "update", member: renamed }); // Same meta.
  assert.deepEqual(events, [
    { room: "lobby", event: "join", member: bob },
    { room: "lobby", members: [ann, bob] },
    { room: "lobby", event: "leave", member: ann },
    { room: "lobby", members: [bob] },
    { room: "lobby", event: "update", member: renamed },
    { room: "lobby", members: [renamed] },
  ]);
});

Deno.test("PresenceTracker.delete() reports an empty list once", () => {
  const { tracker, events } = setup();
  tracker.delete("lobby");
  assert.deepEqual(events, []);
  tracker.reset("lobby", [ann]);
  tracker.delete("lobby");
  tracker.delete("lobby");
  assert.deepEqual(events.slice(1), [{ room: "lobby", members: [] }]);
  assert.deepEqual(tracker.members("lobby"), []);
});

Deno.test("PresenceTracker.apply() reports a meta update, and an update of an unlisted member as its join", () => {
  const { tracker, events } = setup();
  tracker.reset("lobby", [ann]);
  events.length = 0;
  const away = { id: "ann", meta: { name: "Ann", away: true } };
  tracker.apply({ room: "lobby", event: "update", member: away });
  tracker.apply({ room: "lobby", event: "update", member: bob });
  assert.deepEqual(events, [
    { room: "lobby", event: "update", member: away },
    { room: "lobby", members: [away] },
    { room: "lobby", event: "join", member: bob },
    { room: "lobby", members: [away, bob] },
  ]);
});
