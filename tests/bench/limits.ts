/**
 * The fixed prose of docs/benchmarks.md's "What limits roomcast" section:
 * what CPU profiles say about the targets of issue #16 that do not hold,
 * and what would move them. Kept apart from the generated tables (like
 * method.ts) so a regenerated report keeps it.
 *
 * @module
 */

/** Markdown section "What limits roomcast". */
export const LIMITS_MARKDOWN = `
## What limits roomcast

From CPU profiles (\`deno run --cpu-prof\`, one isolate, the C generator;
commands below) of roomcast and of the bare-Deno server under the same load,
and from the bench's server CPU per delivery or connection, which holds up
better than deliveries/s when the machine is shared.

The targets of issue #16 in one quiet run (2026-12-02, session 7, nothing
else running; \`deno task bench --reps 5 --only
roomcast,roomcast-batch,deno-bare,bun --case
fanout-100,fanout-1000,fixed-1000,storm-10000 --fixed-rate 50 --fixed-msgs
2000 --no-report\`, 80 runs, 22 min; paired medians [min–max]):

| target | measured | |
| --- | --- | --- |
| batch 1→1000 ≥ 1.0× Bun deliveries/s | 0.92 [0.72–1.06] | not met |
| batch 1→100 ≥ 1.0× bare Deno | 1.58 [1.38–1.84] | met |
| one frame 1→1000 ≥ 0.95× bare Deno | 0.81 [0.73–1.02] (CV 7–12 %) | not met |
| 50 msg/s to 1000: batch p50 within 0.3 ms of one-frame p50 | 6.59 against 6.42 ms | met |
| same: batch p99 ≤ 1.1× bare Deno (2,000 messages a run) | 1.14 [0.86–1.51] (bare CV 35 %) | not met |
| connections/s ≥ 0.9× bare Deno | 0.80 [0.62–0.92] | not met |
| RSS per connection ≤ 1.1× bare Deno | 0.98 [0.96–1.00] | met |

The earlier quiet run (same command without \`--fixed-msgs\`, so 200-message
fixed runs) said 0.93, 1.82, 0.96, 6.96 against 6.95 ms, 1.14, 0.86 and
1.00. The fixed-load p99 does not decide ±10 % even with 2,000-message runs:
two more 5-repetition runs of \`--only roomcast,roomcast-batch,deno-bare
--case fixed-1000 --fixed-rate 50 --fixed-msgs 2000\` gave batch p99 ÷ bare
0.93 [0.36–1.52] and 0.85 [0.82–2.58] (one frame 1.06 and 1.07), the second
with \`--roomcast-env HISTORY_FLUSH_MS=50\`; bare Deno's own p99 had a CV of
79–87 % there (single runs at 56–66 ms). What the runs agree on is server CPU
per delivery at 50 msg/s: 12.0–13.4 µs against bare's 10.4–11.0 (0.59–0.62
against 0.52–0.55 of a core). Of that gap, the history commit is most:
\`HISTORY=memory\` ran at 0.58–0.59 and \`HISTORY_FLUSH_MS=100\` at
0.60–0.61 (a Deno KV commit costs about 0.8–1 ms of CPU; at 50 msg/s each
message is its own commit), so a longer flush interval would buy a few
percent at light load for a longer crash-loss window; the default stays 10 ms.

The full run of 2026-12-02 (\`deno task bench\`, every case, 5 repetitions,
360 runs, after fan-out pacing; its tables are below) says the same or a
little less, with the machine less quiet: batch 1→1000 ÷ Bun 0.71 [0.62–0.97]
(Bun 451,000 deliveries/s, CV 18 %), batch 1→100 ÷ bare 1.64 [1.58–2.00],
one frame 1→1000 ÷ bare 0.94 [0.68–1.21], connections/s 0.84 [0.63–0.87],
RSS per connection 1.05 [0.99–1.12]; \`fixed-1000\` there runs at half of
bare Deno's capacity, not 50 msg/s, and its p99 ratios (1.49, batch 1.21)
have a CV near 20 % (an A/B with pacing off gave 1.41 against 1.67 on, 3
repetitions each, CV 56–65 %: not told apart). Its SSE rows were measured
with SSE streams paced too, which cut SSE fan-out to 0.66× WebSocket; SSE
streams no longer spend the budget (Deno's HTTP body pulls their chunks), and
\`deno task bench --reps 3 --case sse-fanout-1000,sse-fixed-1000 --only
roomcast,roomcast-sse --no-report\` gives 1.17 [1.07–1.18] deliveries/s, p99
1.08 [0.97–1.26], fixed-rate p99 1.47 [1.45–1.57].

What pacing costs at light load, \`deno task bench --reps 7 --only
roomcast,roomcast-batch,deno-bare --case fixed-1000 --fixed-rate 50
--no-report\` with and without \`--roomcast-env FRAMES_PER_TURN=10000000\`
(paced against unpaced, p99 ÷ bare Deno): one frame 1.66 [0.99–3.75] against
1.31 [0.98–3.35] (CV 53–63 %), batch 1.21 [1.08–1.92] against 1.19
[0.92–1.43]; so the batch p99 target (≤ 1.1) is not met either way, and a
1,000-member message (1,000 sends, plus the publish read and its ack) is
just over one turn's budget, so its last members wait for the next turn.
\`FRAMES_PER_TURN=2000\` would fit it (and ran \`fanout-9000\` at 118,000/s)
but \`rooms-100x10\` was refused in 3 of 3 runs even with the 1 s bound. What
would move it: a budget that adapts, large while timers run on time and
small once the loop falls behind (the lateness of the history's flush timer
is the signal).

The bullets below say what the profiles show for each.

- **One frame per message, 1→1000** (plain clients). A delivery costs the
  same server CPU as in bare Deno: 10.9 against 10.6 µs, paired ratio
  1.01 [0.90–1.21] over 5 repetitions. In both servers the JavaScript thread
  spends most of its busy time in \`op_ws_send_text\` (bare Deno: 3.4 s of
  4.6 s for 2.2M sends), and most server CPU is not JavaScript at all: Deno's
  \`op_ws_send_text\` (\`ext/websocket/lib.rs\`) copies the string into a new
  UTF-8 buffer and spawns one write task per frame, so every recipient costs
  one copy, one task and one \`write\`, whoever calls it. roomcast's own
  per-recipient loop (\`RoomRegistry.broadcast\` and \`Connection.send\`) is
  the size of bare Deno's \`for … send\` loop; per message (not per
  recipient) it adds the history append, the bus post and parsing the
  publish, about 0.1 µs per delivery at N = 1000, and its frames carry the
  envelope (room, offset, epoch, ts, from: about 180 B against the raw
  64 B). What would move it is the runtime: one frame encoded once and
  written to many sockets (Bun's \`server.publish\`, uWS's \`publish\`), or a
  \`send()\` that takes a pre-encoded text frame. With today's API the lever
  is fewer frames: \`roomcast.v1.batch\`.
- **Batch frames, 1→1000 against Bun.** A room that was idle now flushes at
  the end of the event-loop turn, not of the task: the publisher's frames
  that one read made ready are separate tasks of one turn, so they share a
  frame. In a 2,000-message run, single-message frames fell from 433k to
  11k and server CPU per delivery from 5.2–5.6 to 2.96 µs. Over 5
  repetitions: 3.85 µs against Bun's 2.97 (paired 1.28 [1.20–1.66], was
  1.64 [1.53–1.69]). With 4 messages in flight a frame carries at most 4, so
  each delivery still pays a quarter of Deno's per-frame cost above; Bun
  writes one pre-encoded frame per subscriber from native code. The same
  runtime change would close it.
- **Connection setup.** Server CPU per connection in the 10,000-connection
  storm: 175 µs against bare Deno's 143 µs (paired 1.24 [1.09–1.50] over 12
  repetitions; connections/s 0.81×). It was 1.42 before an upgrade without a
  token was made synchronous and the \`welcome\` frame's fixed part
  serialized once, and 1.37 before \`GET /ws\` was answered ahead of hono's
  router, the identity read the query once, and Deno was left to set
  \`Sec-WebSocket-Protocol\` for the common offer form. Both servers pay
  Deno's \`abortRequest\` (\`ext/fetch/23_request.js\`), which builds a new
  \`DOMException\` for every upgraded request although neither server reads
  \`request.signal\`: 17 % of bare Deno's JavaScript time in a storm (a build
  of that file that reuses one frozen \`DOMException\` would not pay it).
  What is left of roomcast's own share is spread thin: about 13 µs in the
  \`/ws\` handler (RFC 6455 checks, Origin, the per-IP limiter, identity,
  subprotocols, open-socket tracking), about 10 µs when the socket opens
  (\`hub.connect\`, listeners, the \`welcome\` frame: one more write per
  connection, which bare Deno does not send), and the garbage collector for
  those objects. No single item is more than a few percent. Reading
  \`Sec-WebSocket-Protocol\` once, one \`close\` listener per socket instead
  of two and no per-connection closures or spreads in \`hub.connect\` moved
  the paired ratio from 1.29 to 1.23 in back-to-back 5-repetition runs
  (157 → 155 µs against 124 / 121 µs), within the run-to-run spread of this
  shared machine. The \`welcome\` write alone is worth about 7 % of bare
  Deno's cost: bare Deno sending one 130-byte frame on \`open\` paid a median
  1.07× plain bare Deno over 10 interleaved storms (server user + system
  CPU per connection, from \`/proc\`), so about a third of the gap is that
  frame, which the protocol requires.
- **Pusher fan-out, 1→1000 through the HTTP API (issue #12).** Pusher has
  no batch frame, so every delivery is one \`ws.send\`. Its Deno ceiling is
  \`deno-bare-pusher\` (servers/bare_pusher.ts: unsigned publish, one
  \`JSON.stringify\` per event, one \`send\` per subscriber). On a shared
  machine (2026-12-02, \`--reps 3 --scenario pusher --roomcast-env
  HISTORY=memory\`), server CPU per delivery: bare 9.4 [9.1–10.1] µs, Soketi
  11.6 [11.0–12.9], roomcast Pusher 11.2 [10.1–13.0]; paired, bare ÷ Soketi
  0.81 [0.78–0.83] and roomcast ÷ bare 1.22 [1.07–1.28]. Deliveries/s, bare
  ÷ Soketi: 1.34 [1.08–1.55] and 1.39 [0.97–1.69] in two such runs. So 1.5×
  Soketi is not reachable on Deno with one frame per delivery: even the
  bare server pays \`op_ws_send_text\` per recipient (above). What roomcast
  adds per recipient in JavaScript (Connection.send, the session's
  HubSocket, the shared translator's cache hit, the echo check) was 1.3 µs
  and is about 0.5 µs (native \`/ws\`: 0.2 µs); per publish the signature
  check (MD5 + HMAC, ~20 µs), the body read, the history append and the bus
  post are about 0.1–0.3 µs per delivery at N = 1000.
- **Big fan-out on the default Deno KV history: fixed by pacing
  (\`FRAMES_PER_TURN\`, 2026-12-02).** The write-behind log refuses
  publishes (\`overloaded\`) once its oldest uncommitted message is older
  than \`HISTORY_MAX_LAG_MS\` (250 ms), its crash-loss bound. Deno writes a
  WebSocket frame after the JavaScript turn that sent it: a turn that sends
  to 9,000 members four messages deep queues 36,000 writes, and timers and
  I/O completions wait behind all of them (measured: a 10 ms flush timer
  fired 933 ms late; the CPU profile of that stretch is 88 %
  \`op_ws_send_text\` in JavaScript, the rest kernel \`sendto\` outside it).
  So \`fanout-9000\` delivered nothing and \`rooms-100x10\` (about 8,000
  publishes/s) had all 1,000 publishers refused. Now every frame read or
  sent spends a per-turn budget (default 1,000) and room fan-out, one-frame
  sends and the coalescer's flush alike, stops when it is spent and goes on
  in the next turn, in order (\`lib/rooms/_send_budget.ts\`,
  \`_fanout.ts\`; queued batch members cost nothing, so a coalesced flush
  is still built once per run). Single runs on the quiet machine, default
  KV history: \`fanout-9000\` one frame per message 1,800,000 of 1,800,000
  at 78,600–98,400 deliveries/s in 5 runs, none refused; with batch frames
  1,800,000 of 1,800,000 at 271,000–311,000/s; \`rooms-100x10\` was clean in
  only 6 of 9 runs with the 250 ms bound: the other three refused all 1,000
  publishers during the warm-up, when one commit took 130–220 ms (SQLite's
  WAL checkpoint, it seems: the same on tmpfs, so not the disk) on top of the
  10 ms flush and the commit queued behind it, and the oldest message was
  260–290 ms old. So \`HISTORY_MAX_LAG_MS\` now defaults to 1 s (the crash-loss
  window of Redis' \`appendfsync everysec\`): 7 of 7 runs clean, 360,000 of
  360,000 at 78,000–103,000/s (p50 ≈ 80–110 ms is the closed loop: 1,000
  messages in flight); \`fanout-1000\` unchanged (batch 288,000–322,000
  against 309,000–321,000 unpaced, one frame 90,000 against 88,000–91,000).
  How the default was chosen: counting only the fan-out's sends, 2,000 a
  turn still refused in \`rooms-100x10\` (1,000 acks and 1,000 reads a turn
  were not counted); 500 cut coalesced \`fanout-1000\` to 200,000–215,000
  (a flush to 1,000 spread over two turns); 1,000 counting reads and writes
  ran the 9,000-member cases clean. The earlier attempt (slicing every room over 1,000
  members, merge d3776d4, reverted by 9f173ab) broke coalescing because it
  sliced the queueing of batch members too. Reproduce:
  \`KV_PATH=/tmp/r.kv ALLOW_ANONYMOUS=true RATE_LIMIT_PER_S=1000000
  RATE_LIMIT_BURST=1000000 MAX_CONNECTIONS_PER_IP=1000000
  MAX_UPGRADES_PER_S_PER_IP=1000000 PORT=18201 deno run -A main.ts\` and
  \`tests/bench/.peers/bin/loadgen --port 18201 --proto roomcast --path /ws
  --mode window --subs 9000 --msgs 200 --warmup 5 --window 4\` (\`--proto
  roomcast-batch\` for batch frames, or \`--mode rooms --rooms 100 --members
  10 --msgs 40000 --warmup 4000 --window 1\`); \`FRAMES_PER_TURN=10000000\`
  turns pacing off.
- **Memory per connection** holds: RSS per connection at 10,000
  connections is 1.02 [0.98–1.09]× bare Deno, whose WebSocket costs about
  22 KB; roomcast's objects per connection are small next to it.

Profiles and per-delivery CPU as above:

\`\`\`sh
# server CPU per delivery / connection, paired (the "÷ bare Deno" columns):
deno task bench --reps 5 --only roomcast,roomcast-batch,deno-bare,bun \\
  --case fanout-100,fanout-1000,fixed-1000,storm-10000 --fixed-rate 50 \\
  --fixed-msgs 2000 --no-report
# CPU per connection alone (serverCpu × cpuWindowS ÷ connected, paired):
deno task bench --reps 12 --only roomcast,deno-bare --case storm-10000 --no-report
# a profile: start roomcast with the bench's settings (tests/bench/contestants.ts)
# under \`deno run -A --cpu-prof --cpu-prof-dir=prof main.ts\`, run
# tests/bench/.peers/bin/loadgen --mode window --subs 1000 --msgs 2000 --window 4
# (or --mode storm --subs 6000), then SIGINT the server: prof/*.cpuprofile
\`\`\`
`;
