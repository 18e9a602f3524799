/*
 * WebSocket client side of the load generator (RFC 6455): non-blocking
 * connect, the HTTP/1.1 upgrade with Sec-WebSocket-Accept checked, masked
 * client frames, and parsing of server frames that may arrive split across
 * reads or several to a read (7-, 16- and 64-bit lengths, fragments, ping,
 * close).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadgen.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* Seeds the xorshift generator used for masks and keys from the kernel. */
void rnd_seed(void) {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = now_ns();
  rng_state ^= seed | 1;
}

uint64_t rnd64(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

/* ---- buffers and writes ---- */

static void grow(uint8_t **buf, uint32_t *cap, size_t need) {
  if (need <= *cap) return;
  size_t cap2 = *cap ? *cap : 256;
  while (cap2 < need) cap2 *= 2;
  uint8_t *p = realloc(*buf, cap2);
  if (!p) die("out of memory");
  *buf = p;
  *cap = (uint32_t)cap2;
}

static void set_events(struct conn *c, uint32_t ev) {
  struct epoll_event e = {.events = ev, .data.u32 = c->idx};
  epoll_ctl(G_epfd, EPOLL_CTL_MOD, c->fd, &e);
}

/* Writes bytes, keeping what the socket does not take for EPOLLOUT. */
static int write_all(struct conn *c, const uint8_t *p, size_t n) {
  if (c->out_len == 0) {
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      w = 0;
    }
    p += w;
    n -= (size_t)w;
    if (n == 0) return 0;
  }
  grow(&c->out, &c->out_cap, c->out_len + n);
  memcpy(c->out + c->out_len, p, n);
  c->out_len += (uint32_t)n;
  if (!c->epout) {
    c->epout = 1;
    set_events(c, EPOLLIN | EPOLLOUT);
  }
  return 0;
}

static void flush_out(struct conn *c) {
  ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
  if (w < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    on_closed(c, "write failed");
    return;
  }
  memmove(c->out, c->out + w, c->out_len - (size_t)w);
  c->out_len -= (uint32_t)w;
  if (c->out_len == 0 && c->epout) {
    c->epout = 0;
    set_events(c, EPOLLIN);
  }
}

/* Sends one masked frame (FIN set) with a fresh random mask. */
int ws_send(struct conn *c, int opcode, const void *payload, size_t len) {
  uint8_t stackbuf[1024];
  size_t need = len + 14;
  uint8_t *f = need <= sizeof stackbuf ? stackbuf : malloc(need);
  if (!f) die("out of memory");
  size_t h = 0;
  f[h++] = (uint8_t)(0x80 | opcode);
  if (len < 126) {
    f[h++] = (uint8_t)(0x80 | len);
  } else if (len < 65536) {
    f[h++] = 0x80 | 126;
    f[h++] = (uint8_t)(len >> 8);
    f[h++] = (uint8_t)len;
  } else {
    f[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) f[h++] = (uint8_t)((uint64_t)len >> (8 * i));
  }
  uint32_t mask32 = (uint32_t)rnd64();
  uint8_t mask[4];
  memcpy(mask, &mask32, 4);
  memcpy(f + h, mask, 4);
  h += 4;
  const uint8_t *src = payload;
  for (size_t i = 0; i < len; i++) f[h + i] = src[i] ^ mask[i & 3];
  int rc = write_all(c, f, h + len);
  if (f != stackbuf) free(f);
  return rc;
}

/* ---- connection lifecycle ---- */

/* The server port of a connection: with several --port values, fan-out
   subscribers alternate over them (the publisher stays on the first) and
   rooms mode puts every member of room r on port r mod n. */
int conn_port(const struct conn *c) {
  if (G_cfg.nports <= 1) return G_cfg.port;
  uint32_t k = (uint32_t)G_cfg.nports;
  return G_cfg.ports[G_cfg.mode == M_ROOMS ? c->room % k : c->idx % k];
}

int conn_start(struct conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)conn_port(c))};
  inet_pton(AF_INET, G_cfg.host, &sa.sin_addr);
  c->state = C_CONNECTING;
  c->gen++;
  c->since_ns = now_ns();
  c->in_len = c->out_len = c->frag_len = 0;
  c->node[0] = 0;
  c->primed = c->epout = 0;
  c->busy = 0;
  int rc = connect(c->fd, (struct sockaddr *)&sa, sizeof sa);
  if (rc < 0 && errno != EINPROGRESS) {
    close(c->fd);
    c->fd = -1;
    c->state = C_DEAD;
    return -1;
  }
  struct epoll_event e = {.events = EPOLLOUT, .data.u32 = c->idx};
  epoll_ctl(G_epfd, EPOLL_CTL_ADD, c->fd, &e);
  return 0;
}

void conn_close(struct conn *c) {
  if (c->fd >= 0) {
    epoll_ctl(G_epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
  c->state = C_DEAD;
  c->in_len = c->out_len = c->frag_len = 0;
}

static void send_upgrade(struct conn *c) {
  uint8_t raw[16];
  for (int i = 0; i < 16; i += 8) {
    uint64_t r = rnd64();
    memcpy(raw + i, &r, 8);
  }
  char key[32], cat[96];
  uint8_t digest[20];
  base64(raw, 16, key);
  snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
  sha1((const uint8_t *)cat, strlen(cat), digest);
  base64(digest, 20, c->accept);
  char path[512];
  const char *sep = strchr(G_cfg.path, '?') ? "&" : "?";
  if (G_cfg.proto == P_ROOMCAST || G_cfg.proto == P_PUSHER)
    snprintf(path, sizeof path, "%s", G_cfg.path);
  else
    snprintf(path, sizeof path, "%s%sroom=r%u", G_cfg.path, sep, c->room);
  char req[1024];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n%s\r\n",
                   path, G_cfg.host, conn_port(c), key,
                   G_cfg.proto != P_ROOMCAST ? ""
                   : G_cfg.batch
                       ? "Sec-WebSocket-Protocol: roomcast.v1.batch, roomcast.v1\r\n"
                       : "Sec-WebSocket-Protocol: roomcast.v1\r\n");
  c->state = C_HTTP;
  set_events(c, EPOLLIN);
  if (write_all(c, (const uint8_t *)req, (size_t)n) < 0)
    on_closed(c, "handshake write failed");
}

/* Parses the 101 response; returns bytes consumed, 0 if incomplete, -1 bad. */
static long parse_http(struct conn *c, uint8_t *p, size_t n) {
  uint8_t *end = memmem(p, n, "\r\n\r\n", 4);
  if (!end) return n > 8192 ? -1 : 0;
  size_t hlen = (size_t)(end - p) + 4;
  if (n < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0) return -1;
  const char *name = "sec-websocket-accept:";
  size_t nl = strlen(name);
  for (uint8_t *q = p; q + nl < end; q++) {
    if ((q == p || q[-1] == '\n') && strncasecmp((char *)q, name, nl) == 0) {
      uint8_t *v = q + nl;
      while (*v == ' ') v++;
      size_t al = strlen(c->accept);
      if ((size_t)(end - v) < al || memcmp(v, c->accept, al) != 0) return -1;
      return (long)hlen;
    }
  }
  return -1;
}

/* Handles one complete frame. Returns -1 when the connection must stop. */
static int on_frame(struct conn *c, int fin, int op, uint8_t *p, size_t n) {
  if (op == 0x9) return ws_send(c, 0xA, p, n);
  if (op == 0xA) return 0;
  if (op == 0x8) {
    ws_send(c, 0x8, p, n < 2 ? n : 2);
    on_closed(c, "server sent close");
    return -1;
  }
  if (op == 0x0 || !fin) { /* fragmented message */
    if (op != 0x0) c->frag_op = (uint8_t)op, c->frag_len = 0;
    grow(&c->frag, &c->frag_cap, c->frag_len + n);
    memcpy(c->frag + c->frag_len, p, n);
    c->frag_len += (uint32_t)n;
    if (!fin) return 0;
    on_data(c, c->frag, c->frag_len);
    c->frag_len = 0;
    return 0;
  }
  if (op == 0x1 || op == 0x2) on_data(c, p, n);
  return 0;
}

/* Parses frames in p[0..n); returns the bytes consumed or -1. */
static long parse_frames(struct conn *c, uint8_t *p, size_t n) {
  size_t off = 0;
  uint32_t gen = c->gen;
  while (n - off >= 2 && c->gen == gen && c->state >= C_OPEN &&
         c->state != C_DEAD) {
    uint8_t *f = p + off;
    int fin = f[0] >> 7, op = f[0] & 0x0F, masked = f[1] >> 7;
    uint64_t len = f[1] & 0x7F;
    size_t h = 2;
    if (len == 126) {
      if (n - off < 4) break;
      len = (uint64_t)f[2] << 8 | f[3];
      h = 4;
    } else if (len == 127) {
      if (n - off < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | f[2 + i];
      h = 10;
    }
    if (len > (1u << 30)) return -1;
    size_t mh = masked ? 4 : 0;
    if (n - off < h + mh + len) break;
    uint8_t *payload = f + h + mh;
    if (masked)
      for (uint64_t i = 0; i < len; i++) payload[i] ^= f[h + (i & 3)];
    off += h + mh + (size_t)len;
    if (on_frame(c, fin, op, payload, (size_t)len) < 0) return -1;
  }
  return (long)off;
}

static uint8_t *rbuf;
static size_t rbuf_cap;

/* Reads once, then handles the HTTP response and every complete frame. */
static void on_readable(struct conn *c) {
  size_t want = (size_t)c->in_len + 65536;
  if (rbuf_cap < want) {
    rbuf_cap = want < (1u << 20) ? (1u << 20) : want;
    free(rbuf);
    rbuf = malloc(rbuf_cap);
    if (!rbuf) die("out of memory");
  }
  size_t have = c->in_len;
  if (have) memcpy(rbuf, c->in, have);
  ssize_t r = read(c->fd, rbuf + have, rbuf_cap - have);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    on_closed(c, "read failed");
    return;
  }
  if (r == 0) {
    on_closed(c, "server closed the connection");
    return;
  }
  size_t n = have + (size_t)r;
  size_t off = 0;
  uint32_t gen = c->gen;
  if (c->state == C_HTTP) {
    long used = parse_http(c, rbuf, n);
    if (used < 0) {
      on_closed(c, "bad upgrade response");
      return;
    }
    if (used == 0) goto keep;
    off = (size_t)used;
    c->state = C_OPEN;
    on_open(c); /* protocol layer: join, Socket.IO connect, or ready */
    if (c->gen != gen || c->state == C_DEAD) return;
  }
  long used = parse_frames(c, rbuf + off, n - off);
  if (used < 0) {
    if (c->gen == gen && c->state != C_DEAD) on_closed(c, "bad frame");
    return;
  }
  if (c->gen != gen || c->state == C_DEAD) return;
  off += (size_t)used;
keep:
  grow(&c->in, &c->in_cap, n - off);
  memmove(c->in, rbuf + off, n - off);
  c->in_len = (uint32_t)(n - off);
}

void conn_event(struct conn *c, uint32_t events) {
  if (c->state == C_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      on_closed(c, "connect failed");
      return;
    }
    if (c->sse) sse_send_get(c);
    else send_upgrade(c);
    return;
  }
  if (events & EPOLLOUT && c->out_len > 0) flush_out(c);
  if (c->state == C_DEAD || c->fd < 0) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    if (c->sse) sse_readable(c);
    else on_readable(c);
  }
}
