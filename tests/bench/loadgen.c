/*
 * roomcast load generator: a native epoll WebSocket client that stays out of
 * the way of the server it measures. Written for tests/bench (see
 * docs/benchmarks.md); built by the harness with `cc -O2`.
 *
 * Modes
 *   window  1 publisher + N subscribers in one room; W messages in flight,
 *           the next is published when one has reached every subscriber.
 *   rate    the same room, publishing at a fixed rate (--rate msg/s).
 *   rooms   R rooms x K members; every member publishes and receives. With
 *           --rate 0 each member keeps W messages in flight (closed loop),
 *           otherwise members take turns at --rate msg/s in total.
 *   storm   N connections only; prints "READY {...}" once all are up, then
 *           holds them until a line (or EOF) on stdin or --hold seconds.
 *
 * Protocols: roomcast (join + publish envelopes), raw (the server relays any
 * text to the others in ?room=), socketio (Engine.IO 4 / Socket.IO 5 text
 * packets over a plain WebSocket), pusher (Pusher protocol 7 subscribers,
 * publishes through the signed HTTP API: loadgen_pusher.c). --sse makes the
 * roomcast subscribers read GET /sse instead (loadgen_sse.c). --port and
 * --server-pid take comma lists (several nodes: subscribers alternate over
 * the ports; CPU is summed and also printed per process). The payload is a string padded to --size
 * bytes: "~s=<seq>~t=<CLOCK_MONOTONIC ns>~xxxx", so latency needs one clock.
 *
 * The result is one JSON line on stdout; diagnostics go to stderr. Hard caps:
 * --time-limit ends the run (timedOut: true), alarm() kills it 15 s later.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

#define IDX_STDIN 0xFFFFFFFFu
#define IDX_TIMER 0xFFFFFFFEu
#define HANDSHAKE_TIMEOUT_NS 10000000000ULL

struct cfg G_cfg = {.host = "127.0.0.1", .path = "/ws", .proto = P_RAW,
                    .subs = 100, .msgs = 1000, .window = 4, .size = 64,
                    .conc = 256, .time_limit = 60, .connect_limit = 30, .idle_ms = 3000,
                    .hold = 30, .rooms = 10, .members = 10};
struct stats G_st;
struct conn *G_conns;
uint32_t G_nconns;
int G_epfd;

struct run G_run;

#define R G_run

uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("loadgen: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "{\"error\":\"hard time limit (alarm)\"}\n";
  ssize_t w = write(1, msg, sizeof msg - 1);
  (void)w;
  _exit(3);
}


static int fanout(void) {
  return G_cfg.mode == M_WINDOW || G_cfg.mode == M_RATE;
}

static void setup(void) {
  int storm = G_cfg.mode == M_STORM;
  G_nconns = G_cfg.mode == M_ROOMS ? G_cfg.rooms * G_cfg.members
             : storm               ? G_cfg.subs
                                   : G_cfg.subs + 1;
  G_conns = calloc(G_nconns, sizeof *G_conns);
  if (!G_conns) die("out of memory");
  for (uint32_t i = 0; i < G_nconns; i++) {
    struct conn *c = &G_conns[i];
    c->fd = -1;
    c->idx = i;
    c->room = G_cfg.mode == M_ROOMS ? i / G_cfg.members : 0;
    c->publisher = G_cfg.mode == M_ROOMS || (!storm && i == 0);
    c->sse = G_cfg.sse && !(c->publisher && !storm); /* publisher: WebSocket */
  }
  if (storm) return;
  R.cur_seq = -1;
  R.total_msgs = G_cfg.warmup + G_cfg.msgs;
  R.per_msg = G_cfg.mode == M_ROOMS ? G_cfg.members - 1 : G_cfg.subs;
  if (R.per_msg > 65535) die("at most 65535 deliveries per message");
  R.counts = calloc(R.total_msgs + 1, sizeof *R.counts);
  if (G_cfg.mode == M_ROOMS) R.owner = calloc(R.total_msgs + 1, 4);
  /* Per-connection order check, except for concurrent HTTP API publishes
     (Pusher, --api-key): requests in flight together have no order between them, so
     there only the per-message counts catch duplicates. */
  if (fanout() && !G_cfg.http_publish) {
    R.last_seq = malloc(G_nconns * sizeof *R.last_seq);
    for (uint32_t i = 0; R.last_seq && i < G_nconns; i++) R.last_seq[i] = -1;
  }
  if (!R.counts || (G_cfg.mode == M_ROOMS && !R.owner) ||
      (fanout() && !G_cfg.http_publish && !R.last_seq))
    die("out of memory");
  lat_init((uint64_t)G_cfg.msgs * R.per_msg);
}

static void start_more(void) {
  while (R.pending < G_cfg.conc && R.next_start < G_nconns) {
    /* the fan-out publisher goes first: placement needs its isolate */
    if (fanout() && R.next_start == 1 && G_conns[0].state != C_READY) break;
    struct conn *c = &G_conns[R.next_start++];
    R.pending++;
    if (conn_start(c) < 0) {
      G_st.failed++;
      R.pending--;
      if (G_cfg.mode != M_STORM) R.fail_reason = "connect failed";
    }
  }
}

static void check_handshakes(uint64_t now) {
  for (uint32_t i = 0; i < R.next_start; i++) {
    struct conn *c = &G_conns[i];
    if (c->state >= C_CONNECTING && c->state <= C_OPEN &&
        now - c->since_ns > HANDSHAKE_TIMEOUT_NS)
      on_closed(c, "handshake timeout");
  }
}

/* Sends probes where someone has not seen one; returns 1 when all have. */
static int prime(int send) {
  static uint8_t *room_todo;
  uint32_t nrooms = G_cfg.mode == M_ROOMS ? G_cfg.rooms : 1;
  if (!room_todo && !(room_todo = calloc(nrooms, 1))) die("out of memory");
  memset(room_todo, 0, nrooms);
  int all = 1;
  for (uint32_t i = 0; i < G_nconns; i++) {
    struct conn *c = &G_conns[i];
    if (!c->primed && !(fanout() && c->publisher)) room_todo[c->room] = 1, all = 0;
  }
  if (all || !send) return all;
  for (uint32_t r = 0; r < nrooms; r++) {
    if (!room_todo[r]) continue;
    if (fanout()) send_probe(&G_conns[0]);
    else {
      send_probe(&G_conns[r * G_cfg.members]);
      send_probe(&G_conns[r * G_cfg.members + 1]);
    }
  }
  return 0;
}

static void rate_tick(uint64_t now, uint64_t t0) {
  uint64_t due = (uint64_t)((double)(now - t0) * G_cfg.rate / 1e9) + 1;
  if (due > R.total_msgs) due = R.total_msgs;
  while (R.next_seq < due) {
    struct conn *c = fanout() ? &G_conns[0] : &G_conns[R.next_seq % G_nconns];
    if (c->state == C_READY) publish(c);
    else R.next_seq++; /* its connection is gone: count it as lost */
  }
}

static int timer_fd = -1;

static void start_timer(void) {
  int fd = timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  uint64_t period = (uint64_t)(1e9 / G_cfg.rate);
  if (period < 50000) period = 50000; /* several messages per tick then */
  struct itimerspec its = {
      .it_interval = {(time_t)(period / 1000000000ULL), (long)(period % 1000000000ULL)},
      .it_value = {0, 1}};
  timerfd_settime(fd, 0, &its, NULL);
  struct epoll_event e = {.events = EPOLLIN, .data.u32 = IDX_TIMER};
  epoll_ctl(G_epfd, EPOLL_CTL_ADD, fd, &e);
}

enum phase { PH_CONNECT, PH_PRIME, PH_RUN, PH_HOLD, PH_DONE };

int main(int argc, char **argv) {
  parse_args(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGALRM, on_alarm);
  int storm = G_cfg.mode == M_STORM;
  alarm((unsigned)ceil(G_cfg.time_limit + (storm ? G_cfg.hold : 0) + 15));
  rnd_seed();
  G_epfd = epoll_create1(EPOLL_CLOEXEC);
  setup();
  uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(G_cfg.time_limit * 1e9);
  uint64_t next_probe = 0, next_check = 0, next_cpu = 0, t_phase = t0;
  uint64_t cpu_seen = 0, t_rate = 0;
  G_st.t_connect = t0;
  if (storm) cpu_mark_start();
  enum phase ph = PH_CONNECT;
  int timed_out = 0;
  struct epoll_event evs[1024];
  static char why[160];
  while (ph != PH_DONE) {
    uint64_t now = now_ns();
    int connecting = ph == PH_CONNECT || ph == PH_PRIME;
    if (connecting && (now > deadline ||
                       now - t0 > (uint64_t)(G_cfg.connect_limit * 1e9))) {
      snprintf(why, sizeof why, "%s not done after %.0f s (%u of %u ready)",
               ph == PH_CONNECT ? "connecting" : "priming",
               (double)(now - t0) / 1e9, R.ready_count, G_nconns);
      R.fail_reason = why;
    }
    if (now > deadline) { timed_out = 1; break; }
    if (R.fail_reason) break;
    if (now >= next_check) check_handshakes(now), next_check = now + 250000000;
    if (ph == PH_CONNECT) {
      start_more();
      if (R.next_start == G_nconns && R.pending == 0) {
        t_phase = now;
        if (storm) {
          cpu_mark_end();
          double s = (double)(G_st.t_last_ready - G_st.t_connect) / 1e9;
          printf("READY {\"connected\":%llu,\"failed\":%llu,\"connectS\":%.4f}\n",
                 (unsigned long long)G_st.connected,
                 (unsigned long long)G_st.failed, s);
          fflush(stdout);
          struct epoll_event e = {.events = EPOLLIN, .data.u32 = IDX_STDIN};
          epoll_ctl(G_epfd, EPOLL_CTL_ADD, 0, &e);
          deadline = now + (uint64_t)(G_cfg.hold * 1e9);
          ph = PH_HOLD;
        } else if (R.ready_count < G_nconns) {
          R.fail_reason = "some connections failed";
        } else {
          ph = PH_PRIME;
        }
      }
    } else if (ph == PH_PRIME) {
      if (prime(now >= next_probe)) {
        ph = PH_RUN;
        R.running = 1;
        R.last_progress = t_rate = now;
        if (G_cfg.rate > 0) start_timer();
        else pump();
      } else if (now >= next_probe) {
        next_probe = now + 20000000;
        if (now - t_phase > 10000000000ULL) R.fail_reason = "priming timed out";
      }
    } else if (ph == PH_RUN) {
      if (R.done_msgs == R.total_msgs) {
        cpu_mark_end();
        break;
      }
      if (now - R.last_progress > (uint64_t)G_cfg.idle_ms * 1000000) break;
      if (now >= next_cpu) { /* end of the CPU window: last progress seen */
        if (G_st.delivered_all != cpu_seen) cpu_mark_end();
        cpu_seen = G_st.delivered_all;
        next_cpu = now + 100000000;
      }
    }
    int n = epoll_wait(G_epfd, evs, 1024, ph == PH_PRIME ? 2 : 10);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
      uint32_t idx = evs[i].data.u32;
      if (idx == IDX_STDIN) {
        char buf[256];
        ssize_t r = read(0, buf, sizeof buf);
        if (r <= 0 || memchr(buf, '\n', (size_t)r)) ph = PH_DONE;
      } else if (idx == IDX_TIMER) {
        uint64_t ticks;
        ssize_t r = read(timer_fd, &ticks, sizeof ticks);
        (void)r;
        rate_tick(now_ns(), t_rate);
      } else if (idx >= IDX_HTTP_BASE && idx < IDX_HTTP_BASE + HTTP_MAX) {
        http_event(idx - IDX_HTTP_BASE, evs[i].events);
      } else if (idx < G_nconns) {
        conn_event(&G_conns[idx], evs[i].events);
      }
    }
  }
  print_result(timed_out, R.fail_reason);
  return R.fail_reason ? 1 : 0;
}
