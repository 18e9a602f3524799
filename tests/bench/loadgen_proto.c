/*
 * Protocol layer of the load generator: what each connection sends after the
 * upgrade (roomcast join, Socket.IO connect), the publish envelopes, and what
 * it makes of each text frame it receives (deliveries, probes, welcome,
 * joined, Socket.IO pings).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

#define R G_run

/* ---- protocol layer ---- */

static void send_text(struct conn *c, const char *s, size_t n) {
  if (c->fd >= 0 && ws_send(c, 1, s, n) < 0) on_closed(c, "send failed");
}

/* Sends data (a string of safe characters) in the protocol's envelope. */
static void send_data(struct conn *c, const char *data) {
  char buf[4096];
  int n;
  if (G_cfg.proto == P_ROOMCAST && G_cfg.api_key) { /* roomcast's HTTP API */
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", G_cfg.api_key);
    n = snprintf(buf, sizeof buf, "{\"data\":\"%s\"}", data);
    char path[64];
    snprintf(path, sizeof path, "/api/rooms/r%u/messages", c->room);
    http_post(path, auth, buf, (size_t)n, H_PUBLISH);
    return;
  }
  if (G_cfg.proto == P_ROOMCAST)
    n = snprintf(buf, sizeof buf,
                 "{\"type\":\"publish\",\"room\":\"r%u\",\"echo\":false,"
                 "\"data\":\"%s\"}", c->room, data);
  else if (G_cfg.proto == P_SOCKETIO)
    n = snprintf(buf, sizeof buf, "42[\"msg\",\"%s\"]", data);
  else if (G_cfg.proto == P_PUSHER) {
    pusher_publish(c->room, data); /* the signed HTTP API */
    return;
  }
  else
    n = snprintf(buf, sizeof buf, "%s", data);
  send_text(c, buf, (size_t)n);
}

static void padded(char *out, const char *head) {
  size_t n = strlen(head);
  memcpy(out, head, n);
  while (n < G_cfg.size) out[n++] = 'x';
  out[n] = 0;
}

void publish(struct conn *c) {
  uint32_t seq = R.next_seq++;
  char head[64], data[2048];
  uint64_t t = now_ns();
  snprintf(head, sizeof head, "~s=%u~t=%llu~", seq, (unsigned long long)t);
  padded(data, head);
  if (seq == G_cfg.warmup) {
    G_st.t_measure = t;
    cpu_mark_start();
  }
  if (seq >= G_cfg.warmup) G_st.expected += R.per_msg;
  if (R.owner) R.owner[seq] = c->idx;
  c->busy++;
  G_st.published++;
  R.inflight++;
  R.cur_seq = seq;
  send_data(c, data);
  R.cur_seq = -1;
}

void send_probe(struct conn *c) {
  char data[2048];
  R.cur_seq = -1;
  padded(data, "~p~");
  send_data(c, data);
}

void pump(void) {
  if (!R.running) return;
  if (G_cfg.mode == M_WINDOW) {
    while (R.inflight < G_cfg.window && R.next_seq < R.total_msgs)
      publish(&G_conns[0]);
  } else if (G_cfg.mode == M_ROOMS && G_cfg.rate <= 0) {
    for (uint32_t i = 0; i < G_nconns && R.next_seq < R.total_msgs; i++)
      while (G_conns[i].busy < G_cfg.window && G_conns[i].state == C_READY &&
             R.next_seq < R.total_msgs)
        publish(&G_conns[i]);
  }
}

void become_ready(struct conn *c) {
  c->state = C_READY;
  R.pending--;
  R.ready_count++;
  G_st.connected++;
  G_st.t_last_ready = now_ns();
}

void on_open(struct conn *c) {
  if (G_cfg.proto == P_ROOMCAST && G_cfg.mode == M_STORM) {
    return; /* connect only: ready on welcome, no join */
  } else if (G_cfg.proto == P_ROOMCAST && c->publisher && G_cfg.api_key) {
    become_ready(c); /* publishes over HTTP: not in the room */
  } else if (G_cfg.proto == P_ROOMCAST) {
    char join[64];
    int n = snprintf(join, sizeof join, "{\"type\":\"join\",\"room\":\"r%u\"}",
                     c->room);
    send_text(c, join, (size_t)n);
  } else if (G_cfg.proto == P_RAW) {
    become_ready(c);
  }
}

static int placement_ok(struct conn *c) {
  if (G_cfg.placement == PL_ANY || c->publisher) return 1;
  int same = strcmp(c->node, G_conns[0].node) == 0;
  return G_cfg.placement == PL_SAME ? same : !same;
}

/* Reads decimal digits in [p, end); *next points after them. */
static uint64_t digits(const uint8_t *p, const uint8_t *end,
                       const uint8_t **next) {
  uint64_t v = 0;
  while (p < end && *p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
  *next = p;
  return v;
}

static void deliver(struct conn *c, const uint8_t *p, size_t n,
                    const uint8_t *m) {
  const uint8_t *end = p + n, *e;
  uint64_t seq = digits(m + 3, end, &e);
  const uint8_t *t = memmem(e, (size_t)(end - e), "~t=", 3);
  if (!t || e == m + 3 || seq >= R.total_msgs) {
    G_st.invalid++;
    return;
  }
  uint64_t sent = digits(t + 3, end, &e);
  uint64_t now = now_ns();
  if (R.last_seq) {
    if ((int64_t)seq <= R.last_seq[c->idx]) {
      G_st.duplicates++;
      return;
    }
    R.last_seq[c->idx] = (int64_t)seq;
  }
  if (++R.counts[seq] > R.per_msg) {
    G_st.duplicates++;
    return;
  }
  G_st.delivered_all++;
  R.last_progress = now;
  if (seq >= G_cfg.warmup) {
    G_st.delivered++;
    G_st.t_last_delivery = now;
    if (!G_st.t_half &&
        G_st.delivered * 2 >= (uint64_t)G_cfg.msgs * R.per_msg) {
      G_st.t_half = now;
      G_st.delivered_half = G_st.delivered;
    }
    lat_add(now > sent ? now - sent : 0);
  }
  if (R.counts[seq] == R.per_msg) {
    R.done_msgs++;
    R.inflight--;
    if (!R.owner) {
      pump();
    } else { /* rooms: its publisher may send the next one */
      struct conn *o = &G_conns[R.owner[seq]];
      o->busy--;
      if (R.running && G_cfg.rate <= 0 && o->state == C_READY &&
          R.next_seq < R.total_msgs)
        publish(o);
    }
  }
}

void on_data(struct conn *c, const uint8_t *p, size_t n) {
  const uint8_t *m = memmem(p, n, "~s=", 3);
  if (m) {
    /* One message per frame, or several in a batch frame "[m1,m2,...]":
       each runs from its "~s=" marker to the next one. */
    const uint8_t *end = p + n;
    while (m) {
      const uint8_t *next =
          memmem(m + 3, (size_t)(end - m - 3), "~s=", 3);
      deliver(c, m, (size_t)((next ? next : end) - m), m);
      m = next;
    }
    return;
  }
  if (memmem(p, n, "~p~", 3)) {
    c->primed = 1;
    return;
  }
  if (G_cfg.proto == P_PUSHER) {
    pusher_frame(c, p, n);
    return;
  }
  if (G_cfg.proto == P_SOCKETIO) {
    if (n == 1 && p[0] == '2') send_text(c, "3", 1);
    else if (c->state == C_OPEN && n > 0 && p[0] == '0') send_text(c, "40", 2);
    else if (c->state == C_OPEN && n >= 2 && p[0] == '4' && p[1] == '0')
      become_ready(c);
    else if (n >= 2 && p[0] == '4' && p[1] == '4') G_st.errors++;
    return;
  }
  if (G_cfg.proto != P_ROOMCAST) return;
  const uint8_t *w = memmem(p, n, "\"connectionId\":\"", 16);
  if (w && (size_t)(p + n - w) > 24) {
    memcpy(c->node, w + 16, 8);
    c->node[8] = 0;
    if (G_cfg.mode == M_STORM && c->state == C_OPEN) {
      become_ready(c);
      return;
    }
    if (!placement_ok(c)) { /* wrong isolate: hang up and dial again */
      G_st.rejected++;
      conn_close(c);
      if (G_st.rejected > 20ULL * G_cfg.subs + 100) {
        R.fail_reason = "placement: too many retries";
        R.pending--;
        return;
      }
      if (conn_start(c) < 0) {
        G_st.failed++;
        R.pending--;
        R.fail_reason = "connect failed";
      }
    }
    return;
  }
  if (c->state == C_OPEN && memmem(p, n, "\"type\":\"joined\"", 15)) {
    become_ready(c);
  } else if (memmem(p, n, "\"type\":\"error\"", 14)) {
    if (G_st.errors++ == 0)
      fprintf(stderr, "loadgen: server error: %.*s\n", (int)(n > 300 ? 300 : n),
              (const char *)p);
  }
}

void on_closed(struct conn *c, const char *why) {
  if (c->state == C_DEAD) return;
  if (c->state == C_READY) {
    if (G_st.closed++ == 0) fprintf(stderr, "loadgen: closed: %s\n", why);
    R.ready_count--;
  } else {
    G_st.failed++;
    R.pending--;
    if (G_cfg.mode != M_STORM && !R.fail_reason) R.fail_reason = why;
  }
  conn_close(c);
}
