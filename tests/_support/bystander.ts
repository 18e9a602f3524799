/**
 * A well-behaved pair of clients in one room, for suites that abuse the
 * server: after each bad request, {@linkcode Bystander.stillReceives} proves
 * the server still serves the room.
 *
 * @module
 */

import { TestClient } from "./harness.ts";

/** A member and a publisher in `room`; dispose to close both. */
export interface Bystander extends AsyncDisposable {
  /** Publishes a probe and waits until the member gets it (10 s safety net). */
  stillReceives(): Promise<void>;
  /** Probes sent (and received) so far. */
  readonly probes: number;
}

/** Opens the two clients on `server` (a test server, or any `wsUrl`) and joins them to `room`. */
export async function withBystander(
  server: { wsUrl: string },
  room = "bystanders",
): Promise<Bystander> {
  const member = await TestClient.open(server.wsUrl);
  const publisher = await TestClient.open(server.wsUrl);
  await member.join(room);
  await publisher.join(room);
  let probes = 0;
  return {
    get probes() {
      return probes;
    },
    async stillReceives() {
      probes += 1;
      const probe = `probe ${probes}`;
      publisher.send({ type: "publish", room, data: probe, echo: false });
      while ((await member.next("message", { skip: true })).data !== probe) {
        // Older messages of the room (none are expected) are skipped.
      }
    },
    async [Symbol.asyncDispose]() {
      await member.close();
      await publisher.close();
    },
  };
}
