/**
 * The fixed prose of docs/benchmarks.md: method and how to run. Kept apart
 * from the generated tables so it is easy to edit.
 *
 * @module
 */

/** Markdown sections "Method" and "How to run". */
export const METHOD_MARKDOWN = `
## Method

- **One command, one machine, loopback only.** \`deno task bench\` installs the
  peers (\`npm install --prefix tests/bench/.peers ws@8 socket.io@4 bun@1.4.5\`;
  Soketi 1.6.1 into \`.peers/soketi/\` with \`--ignore-scripts\` and an
  \`overrides\` entry mapping \`uWebSockets.js\` to
  \`npm:@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0\`, used only if
  its native binary loads; Soketi listens on 127.0.0.1 with its metrics and
  cluster discovery on loopback),
  compiles the generator with \`cc -O2\`, then runs every contestant one after
  another. Each run starts a fresh server, waits for its readiness line, runs
  one measurement and stops the server by PID.
- **Generator**: a native C epoll client (\`tests/bench/loadgen*.c\`): one
  process, N subscribers plus publishers, its own RFC 6455 handshake and
  masked frames. It speaks roomcast's protocol (join, publish with
  \`echo:false\`), a raw relay (bare Deno, ws, Bun) and Engine.IO 4 /
  Socket.IO 5 packets, Pusher protocol 7 (\`pusher:subscribe\`; messages
  published through the signed HTTP API) and roomcast's SSE stream (below).
  Payloads are 64-byte strings carrying a sequence number
  and the send time on \`CLOCK_MONOTONIC\`, so latency is receive − send on
  one clock. Before measuring, probe messages are published until every
  subscriber has received one (no connection is counted before it is in its
  room). Losses and duplicates are counted per message.
- **HTTP publishers** (Pusher and roomcast's HTTP API): the generator keeps
  keep-alive HTTP/1.1 connections (as many as messages in flight, 4), one
  request on each at a time; a Pusher request is signed once (\`body_md5\`,
  HMAC-SHA256 \`auth_signature\` over the sorted query, the current
  \`auth_timestamp\`). Requests in flight together have no order between
  them, so for HTTP publishers the per-connection order check is off and
  duplicates are caught by the per-message counts. A non-2xx answer counts as
  a server error.
- **SSE subscribers** (\`--sse\`): each opens a plain HTTP/1.1
  \`GET /sse\` and reads it as \`text/event-stream\` (chunked decoding in C,
  an event per blank line, its \`data\` one server frame), joins by
  \`POST /sse/<session>\` on a keep-alive connection of the same pool, and
  is counted once its \`joined\` arrives on the stream. The publisher stays
  on a WebSocket, so the case compares the delivery paths only.
- **Several processes** (Redis engine): the run starts a redis-server
  (\`--save "" --appendonly no\`) and N roomcast processes with
  \`REDIS_URL\`, all pinned to the server core; subscribers alternate over the
  nodes' ports (the publisher is on the first; rooms mode puts room r on node
  r mod N). "Server CPU" is the sum of the nodes and redis-server (the
  generator reads each PID); each node's \`/metrics\` is read before and
  after the run for bus posts, bytes and room messages received and Redis
  commands and their time.
- **Pinning and CPU**: servers run on one core and the generator on the other
  (\`taskset\`). CPU is read from \`/proc/<pid>/stat\` (utime + stime) for the
  server and from the generator's own clock, over the measured window;
  "other CPU" is everything else on the machine (\`/proc/stat\`). A throughput
  result whose server stayed below 0.9 CPU is labelled **generator-bound**: it
  is a lower bound of the server, not its limit. Runs with other CPU above 0.2
  are labelled **noisy**.
- **Repetitions**: 5 by default (\`--reps\`), contestants interleaved within
  each repetition. Cells show median [min–max] (and CV for the headline).
  Ratios are **paired**: contestant ÷ baseline within the same repetition,
  then median [min–max] of those ratios.
- **Scenarios**
  - *Fan-out*: 1 publisher, N subscribers in one room (N = 100, 1000 and the
    largest the open-file limit allows, at most 9000), 4 messages in flight;
    after a 10 % warm-up, 4,500 measured messages at 1→100, 2,000 at 1→1000
    (2M deliveries: shorter runs end before steady state) and ~450k
    deliveries at the largest N. Steady-state check: each run's deliveries/s
    over the second half of its deliveries ÷ the first half (printed in the
    console summary with the CV and paired ratios).
  - *Fixed load*: 1→1000 at half of bare Deno's fan-out capacity (measured
    in the first repetition), 4 s; p50/p99/p999 and server CPU per delivery.
    The fairest efficiency comparison: nobody is saturated. A p99 from 4 s
    (~200 messages) swings by tens of percent between runs;
    \`--fixed-msgs 2000\` measures 2,000 messages instead (issue #16's method).
  - *Rooms*: 100 rooms × 10 members, everyone publishing, each member keeping
    one message in flight; deliveries/s and latency.
  - *Connection storm*: 10,000 connections, 256 handshakes in flight;
    connections/s, failures, and RSS per idle connection
    (\`/proc/<pid>/status\` VmRSS after 2 s of settling, minus RSS before,
    no forced GC).
  - *Cross-isolate hop*: roomcast \`--parallel\` (2 isolates on the server core)
    with every subscriber on the publisher's isolate, or every subscriber on
    the other one (the generator reads the isolate from the \`welcome\`
    connection id and redials until placement fits), against single-isolate
    roomcast; fan-out 1→500 and a 1→1 relay with one message in flight.
  - *Pusher* (issue #12): 1→1000, 4 HTTP API requests in flight: roomcast's
    Pusher endpoint (\`/app/:key\`, publishes to \`POST /apps/:id/events\`)
    against Soketi 1.6.1, roomcast's native path with the same HTTP
    publisher (\`/ws\`, \`POST /api/rooms/:room/messages\`) and roomcast
    with a WebSocket publisher. Targets: roomcast Pusher ≥ 1.5× Soketi, ≥
    0.9× the native HTTP path.
  - *Redis* (issue #13): 1→1000 with W = 4, and a fixed load of 20 msg/s:
    roomcast on 2 processes joined by Redis against \`--parallel\`
    (BroadcastChannel, one process) and one plain process. The Redis round
    trip's share of the latency: on the publishing node, Redis command time
    per publish (\`redis_command_ms_total\` ÷ \`publishes_total\` over the
    run: the append script and the PUBLISH) ÷ the mean publish→receive
    latency.
  - *Scale* (issue #13): 1, 2 and 4 nodes on one redis-server, each with 10
    rooms × 10 members of its own at 100 msg/s (the load per node is
    constant). **Bus CPU per node** = mean CPU per node − the 1-node CPU in
    the same repetition: the local work is the same by construction, so what
    grows is the bus (flat is the goal; with one channel for every room it
    grows with N). Each node's bus posts and room messages received (0 from
    other nodes' rooms) come from its \`/metrics\`. On 2 cores every node shares the server core, and a
    node that gets it less often handles more per wake-up (coalescing, group
    commits), so CPU per node may fall as N grows and the difference go
    below 0: the bus cost is then under what this machine resolves, and the
    bus figures per node are the direct evidence.
  - *SSE* (issue #14): 1→1000 with W = 4 and at 20 msg/s, subscribers on
    \`GET /sse\` against the same on \`/ws\`. Targets: ≥ 0.7× WebSocket
    deliveries/s, p99 ≤ 1.5×.
- **roomcast as shipped**, except for the abuse limits: all load comes from
  127.0.0.1, so per-IP, per-connection rate and connection-count limits are
  lifted and clients connect anonymously (each a distinct presence member);
  the "roomcast settings" row above lists them. Otherwise defaults: Deno KV
  history in a fresh file per run (one isolate writes it behind, flushing
  every 10 ms; \`--parallel\` writes through), presence on; readiness from its
  "Listening on" log line. "roomcast memory" (\`HISTORY=memory\`) separates
  the cost of the history engine from the cost of delivery; "roomcast batch"
  negotiates frame coalescing. \`--roomcast-env K=V\` adds settings to every
  roomcast contestant.
- **Failures**: a case a contestant failed (e.g. could not connect every
  subscriber within the connect limit) is reported with the reason and not
  retried in later repetitions.
- **Bounds**: every run has a message or connection count, a time limit and
  a generator self-exit timer; the whole run has a time budget
  (\`--max-minutes\`, default 75; a full run takes about 50 minutes, 20 of
  them the issue #12–#14 scenarios).

## How to run

\`\`\`sh
deno task bench                       # full run, 5 repetitions (≈ 50 min)
deno task bench --quick               # 1 repetition, small counts (≈ 2–3 min)
deno task bench --reps 3 --only roomcast,deno-bare --scenario fanout,fixed
deno task bench --roomcast-env SOME_FLAG=1   # pass env to roomcast contestants
deno task bench --report-from tests/bench/results/<file>.json   # redo the report
deno task bench --reps 5 --scenario pusher,redis,scale,sse   # issues #12–#14
\`\`\`

Results go to \`tests/bench/results/<date>.json\`; this page and
\`docs/benchmarks.svg\` are regenerated (\`--no-report\` leaves them alone). Run
it on a quiet machine: other load shows up as "other CPU" and as noise. The
smoke test \`tests/bench/bench_smoke_test.ts\` (part of \`deno task test\`) runs
the harness with tiny counts and checks only that every message arrived.
`;
