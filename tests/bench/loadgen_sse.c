/*
 * The SSE subscriber of the load generator (roomcast's fallback transport,
 * docs/protocol.md "Fallback transport"): a plain HTTP/1.1 GET /sse read as a
 * text/event-stream (chunked or not), split into events; the session event
 * queues a POST /sse/<session> with the join (loadgen_http.c), every default
 * event's data is one server frame for the protocol layer (on_data), and an
 * `event: close` ends the connection like a WebSocket close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadgen.h"

static void grow(uint8_t **buf, uint32_t *cap, size_t need) {
  if (need <= *cap) return;
  size_t cap2 = *cap ? *cap : 1024;
  while (cap2 < need) cap2 *= 2;
  uint8_t *p = realloc(*buf, cap2);
  if (!p) die("out of memory");
  *buf = p;
  *cap = (uint32_t)cap2;
}

void sse_send_get(struct conn *c) {
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET /sse%s HTTP/1.1\r\nHost: %s:%d\r\n"
                   "Accept: text/event-stream\r\n\r\n",
                   G_cfg.batch ? "?batch=1" : "", G_cfg.host, conn_port(c));
  c->state = C_HTTP;
  c->chunked = c->chunk_st = 0;
  c->chunk_left = 0;
  struct epoll_event e = {.events = EPOLLIN, .data.u32 = c->idx};
  epoll_ctl(G_epfd, EPOLL_CTL_MOD, c->fd, &e);
  if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
    on_closed(c, "SSE request write failed");
}

/* The session event: POST the join for this subscriber's room. */
static void on_session(struct conn *c, const uint8_t *data, size_t n) {
  const uint8_t *s = memmem(data, n, "\"session\":\"", 11);
  if (!s) {
    on_closed(c, "SSE session event without a session");
    return;
  }
  s += 11;
  const uint8_t *e = memchr(s, '"', (size_t)(data + n - s));
  if (!e || e - s > 200) {
    on_closed(c, "bad SSE session id");
    return;
  }
  char path[256], body[64];
  snprintf(path, sizeof path, "/sse/%.*s", (int)(e - s), (const char *)s);
  int bn = snprintf(body, sizeof body, "{\"type\":\"join\",\"room\":\"r%u\"}",
                    c->room);
  http_post(path, "", body, (size_t)bn, H_JOIN);
}

/* Handles one event (the text before its blank line). Returns -1 if closed. */
static int on_event(struct conn *c, uint8_t *p, size_t n) {
  const uint8_t *name = NULL, *data = NULL;
  size_t name_len = 0, data_len = 0;
  uint8_t *end = p + n;
  while (p < end) {
    uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    uint8_t *le = nl ? nl : end;
    size_t ll = (size_t)(le - p);
    if (ll && le[-1] == '\r') ll--;
    if (ll >= 5 && memcmp(p, "data:", 5) == 0) {
      data = p + 5 + (ll > 5 && p[5] == ' ');
      data_len = (size_t)(p + ll - data); /* one data line per event here */
    } else if (ll >= 6 && memcmp(p, "event:", 6) == 0) {
      name = p + 6 + (ll > 6 && p[6] == ' ');
      name_len = (size_t)(p + ll - name);
    }
    p = nl ? nl + 1 : end;
  }
  if (!data) return 0; /* comment (ping), retry or id only */
  uint32_t gen = c->gen;
  if (name && name_len == 7 && memcmp(name, "session", 7) == 0) {
    on_session(c, data, data_len);
  } else if (name && name_len == 5 && memcmp(name, "close", 5) == 0) {
    if (G_st.errors++ == 0)
      fprintf(stderr, "loadgen: SSE close event: %.*s\n", (int)data_len,
              (const char *)data);
    on_closed(c, "SSE stream closed by the server");
  } else {
    on_data(c, data, data_len);
  }
  return c->gen == gen && c->state != C_DEAD ? 0 : -1;
}

/* Appends decoded body bytes and handles every complete event. */
static int body_bytes(struct conn *c, const uint8_t *p, size_t n) {
  grow(&c->frag, &c->frag_cap, c->frag_len + n);
  memcpy(c->frag + c->frag_len, p, n);
  c->frag_len += (uint32_t)n;
  size_t off = 0;
  for (;;) {
    uint8_t *ev = c->frag + off;
    size_t left = c->frag_len - off;
    uint8_t *sep = memmem(ev, left, "\n\n", 2);
    if (!sep) break;
    size_t len = (size_t)(sep - ev);
    off += len + 2;
    if (on_event(c, ev, len) < 0) return -1;
  }
  memmove(c->frag, c->frag + off, c->frag_len - off);
  c->frag_len -= (uint32_t)off;
  return 0;
}

/* Undoes Transfer-Encoding: chunked; returns bytes consumed or -1. */
static long dechunk(struct conn *c, const uint8_t *p, size_t n) {
  size_t off = 0;
  while (off < n) {
    if (c->chunk_st == 0) { /* size line */
      const uint8_t *nl = memmem(p + off, n - off, "\r\n", 2);
      if (!nl) break;
      c->chunk_left = (uint32_t)strtoul((const char *)p + off, NULL, 16);
      off = (size_t)(nl - p) + 2;
      if (c->chunk_left == 0) {
        on_closed(c, "SSE stream ended");
        return -1;
      }
      c->chunk_st = 1;
    } else if (c->chunk_st == 1) {
      size_t take = n - off < c->chunk_left ? n - off : c->chunk_left;
      if (body_bytes(c, p + off, take) < 0) return -1;
      off += take;
      c->chunk_left -= (uint32_t)take;
      if (c->chunk_left == 0) c->chunk_st = 2;
    } else {
      if (n - off < 2) break;
      off += 2;
      c->chunk_st = 0;
    }
  }
  return (long)off;
}

void sse_readable(struct conn *c) {
  uint8_t buf[65536 + 8192];
  size_t have = c->in_len;
  if (have > 8192) {
    on_closed(c, "SSE: unparsable input");
    return;
  }
  if (have) memcpy(buf, c->in, have);
  ssize_t r = read(c->fd, buf + have, sizeof buf - have);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    on_closed(c, "read failed");
    return;
  }
  if (r == 0) {
    on_closed(c, "server closed the connection");
    return;
  }
  size_t n = have + (size_t)r, off = 0;
  uint32_t gen = c->gen;
  if (c->state == C_HTTP) {
    uint8_t *end = memmem(buf, n, "\r\n\r\n", 4);
    if (!end) {
      if (n > 8192) on_closed(c, "SSE: response head too long");
      else goto keep;
      return;
    }
    if (n < 12 || memcmp(buf, "HTTP/1.1 200", 12) != 0 ||
        !memmem(buf, (size_t)(end - buf), "text/event-stream", 17)) {
      if (G_st.errors++ == 0)
        fprintf(stderr, "loadgen: SSE refused: %.*s\n",
                (int)(n > 300 ? 300 : n), (const char *)buf);
      on_closed(c, "SSE: not an event stream");
      return;
    }
    c->chunked = memmem(buf, (size_t)(end - buf), "chunked", 7) != NULL;
    off = (size_t)(end - buf) + 4;
    c->state = C_OPEN;
    c->frag_len = 0;
  }
  if (c->chunked) {
    long used = dechunk(c, buf + off, n - off);
    if (used < 0 || c->gen != gen || c->state == C_DEAD) return;
    off += (size_t)used;
  } else {
    if (body_bytes(c, buf + off, n - off) < 0) return;
    off = n;
  }
keep:
  grow(&c->in, &c->in_cap, n - off);
  memmove(c->in, buf + off, n - off);
  c->in_len = (uint32_t)(n - off);
}
