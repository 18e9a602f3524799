/*
 * A pool of keep-alive HTTP/1.1 client connections to the first --port, for
 * the POSTs of a run: Pusher HTTP API publishes (several requests in flight,
 * one per connection) and the joins of SSE subscribers. Requests wait in a
 * bounded FIFO until a connection is free; a non-2xx answer counts as a
 * server error (the first one is printed to stderr).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadgen.h"

#define QUEUE_MAX 65536u
#define HEAD_MAX 1024

enum hstate { HS_DOWN, HS_CONNECTING, HS_IDLE, HS_BUSY };

struct hreq {
  char *buf; /* the whole request */
  uint32_t len;
  uint8_t kind;
  int64_t seq; /* the message a publish carries, -1 for probes and joins */
};

struct hconn {
  int fd;
  uint8_t state, epout;
  struct hreq cur;
  uint32_t sent;
  uint8_t *in;
  uint32_t in_len, in_cap;
};

static struct hconn H[HTTP_MAX];
static struct hreq *queue;
static uint32_t q_head, q_len;
static uint64_t done;

uint64_t http_requests_done(void) { return done; }

static void set_events(int i, uint32_t ev) {
  struct epoll_event e = {.events = ev, .data.u32 = IDX_HTTP_BASE + (uint32_t)i};
  epoll_ctl(G_epfd, EPOLL_CTL_MOD, H[i].fd, &e);
}

static void h_close(int i) {
  struct hconn *h = &H[i];
  if (h->fd >= 0) {
    epoll_ctl(G_epfd, EPOLL_CTL_DEL, h->fd, NULL);
    close(h->fd);
  }
  h->fd = -1;
  h->state = HS_DOWN;
  h->in_len = 0;
  h->epout = 0;
}

static int h_connect(int i) {
  struct hconn *h = &H[i];
  h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (h->fd < 0) return -1;
  int one = 1;
  setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)G_cfg.port)};
  inet_pton(AF_INET, G_cfg.host, &sa.sin_addr);
  if (connect(h->fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
      errno != EINPROGRESS) {
    close(h->fd);
    h->fd = -1;
    return -1;
  }
  h->state = HS_CONNECTING;
  struct epoll_event e = {.events = EPOLLOUT,
                          .data.u32 = IDX_HTTP_BASE + (uint32_t)i};
  epoll_ctl(G_epfd, EPOLL_CTL_ADD, h->fd, &e);
  return 0;
}

/* Writes what is left of the current request; arms EPOLLOUT if needed. */
static void h_flush(int i) {
  struct hconn *h = &H[i];
  while (h->sent < h->cur.len) {
    ssize_t w = send(h->fd, h->cur.buf + h->sent, h->cur.len - h->sent,
                     MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      G_run.fail_reason = "HTTP request write failed";
      h_close(i);
      return;
    }
    h->sent += (uint32_t)w;
  }
  int want = h->sent < h->cur.len;
  if (want != h->epout) {
    h->epout = (uint8_t)want;
    set_events(i, want ? EPOLLIN | EPOLLOUT : EPOLLIN);
  }
}

/* Hands queued requests to idle connections, connecting more as needed. */
static void dispatch(void) {
  uint32_t n = G_cfg.http_conns;
  for (uint32_t i = 0; i < n && q_len > 0; i++) {
    struct hconn *h = &H[i];
    if (h->state == HS_DOWN && h_connect((int)i) < 0) {
      G_run.fail_reason = "HTTP connect failed";
      return;
    }
    if (h->state != HS_IDLE) continue;
    h->cur = queue[q_head];
    q_head = (q_head + 1) % QUEUE_MAX;
    q_len--;
    h->sent = 0;
    h->state = HS_BUSY;
    h_flush((int)i);
  }
}

void http_post(const char *path, const char *extra_headers, const char *body,
               size_t body_len, int kind) {
  if (!queue) {
    queue = calloc(QUEUE_MAX, sizeof *queue);
    if (!queue) die("out of memory");
    for (int i = 0; i < HTTP_MAX; i++) H[i].fd = -1;
  }
  if (q_len == QUEUE_MAX) {
    G_run.fail_reason = "HTTP request queue full (server too slow)";
    return;
  }
  char head[HEAD_MAX];
  int hn = snprintf(head, sizeof head,
                    "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
                    "Content-Type: application/json\r\n%s"
                    "Content-Length: %zu\r\n\r\n",
                    path, G_cfg.host, G_cfg.port, extra_headers, body_len);
  if (hn < 0 || hn >= HEAD_MAX) die("HTTP request head too long");
  struct hreq r = {.len = (uint32_t)(hn + body_len),
                   .kind = (uint8_t)kind,
                   .seq = kind == H_PUBLISH ? G_run.cur_seq : -1};
  r.buf = malloc(r.len);
  if (!r.buf) die("out of memory");
  memcpy(r.buf, head, (size_t)hn);
  memcpy(r.buf + hn, body, body_len);
  queue[(q_head + q_len) % QUEUE_MAX] = r;
  q_len++;
  dispatch();
}

/* Length of a complete response at the start of p[0..n), 0 if incomplete. */
static size_t response_len(const uint8_t *p, size_t n, int *status) {
  const uint8_t *end = memmem(p, n, "\r\n\r\n", 4);
  if (!end) return 0;
  size_t hlen = (size_t)(end - p) + 4;
  *status = n >= 12 && memcmp(p, "HTTP/1.1 ", 9) == 0 ? atoi((char *)p + 9) : 0;
  size_t body = 0;
  const char *name = "content-length:";
  for (const uint8_t *q = p; q + 15 < end; q++)
    if ((q == p || q[-1] == '\n') &&
        strncasecmp((const char *)q, name, 15) == 0)
      body = (size_t)strtoul((const char *)q + 15, NULL, 10);
  if (memmem(p, hlen, "chunked", 7)) { /* ends with the zero-size chunk */
    const uint8_t *z = memmem(end + 4, n - hlen, "0\r\n\r\n", 5);
    return z ? (size_t)(z - p) + 5 : 0;
  }
  return n >= hlen + body ? hlen + body : 0;
}

static void on_response(int i, const uint8_t *p, size_t len, int status) {
  struct hconn *h = &H[i];
  int kind = h->cur.kind;
  int64_t seq = h->cur.seq;
  done++;
  if (status < 200 || status > 299) {
    if (G_st.errors++ == 0)
      fprintf(stderr, "loadgen: HTTP %d: %.*s\n", status,
              (int)(len > 300 ? 300 : len), (const char *)p);
    /* A refused publish is never delivered: free its window slot (its
       deliveries stay expected, so they count as lost). */
    if (kind == H_PUBLISH && seq >= 0 && G_run.counts[seq] == 0) {
      G_run.counts[seq] = (uint16_t)G_run.per_msg;
      G_run.done_msgs++;
      G_run.inflight--;
    }
  }
  free(h->cur.buf);
  h->cur.buf = NULL;
  int closing = memmem(p, len, "onnection: close", 16) != NULL;
  if (closing) h_close(i);
  else h->state = HS_IDLE;
  dispatch();
  if (kind == H_PUBLISH) pump(); /* window mode: a slot may be free */
}

void http_event(uint32_t i, uint32_t events) {
  struct hconn *h = &H[i];
  if (i >= HTTP_MAX || h->fd < 0) return;
  if (h->state == HS_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      G_run.fail_reason = "HTTP connect failed";
      h_close((int)i);
      return;
    }
    h->state = HS_IDLE;
    set_events((int)i, EPOLLIN);
    dispatch();
    return;
  }
  if (events & EPOLLOUT && h->state == HS_BUSY) h_flush((int)i);
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || h->fd < 0) return;
  uint8_t buf[16384];
  ssize_t r = read(h->fd, buf, sizeof buf);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (r <= 0) {
    if (h->state == HS_BUSY) G_run.fail_reason = "HTTP connection closed";
    h_close((int)i);
    return;
  }
  if (h->in_cap < h->in_len + (size_t)r) {
    uint32_t cap = h->in_cap ? h->in_cap : 4096;
    while (cap < h->in_len + (size_t)r) cap *= 2;
    uint8_t *p = realloc(h->in, cap);
    if (!p) die("out of memory");
    h->in = p, h->in_cap = cap;
  }
  memcpy(h->in + h->in_len, buf, (size_t)r);
  h->in_len += (uint32_t)r;
  int status;
  size_t len = response_len(h->in, h->in_len, &status);
  if (len == 0) return;
  uint8_t copy[512];
  size_t keep = len < sizeof copy ? len : sizeof copy;
  memcpy(copy, h->in, keep);
  memmove(h->in, h->in + len, h->in_len - len);
  h->in_len -= (uint32_t)len;
  on_response((int)i, copy, keep, status);
}
