/*
 * roomcast load generator: shared declarations.
 *
 * One process, one epoll loop, many client WebSocket connections. See
 * loadgen.c for the modes and the command line, loadgen_ws.c for the
 * handshake and framing, loadgen_stats.c for the measurements and the JSON
 * result line.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stddef.h>
#include <stdint.h>

enum proto { P_ROOMCAST, P_RAW, P_SOCKETIO, P_PUSHER };
enum mode { M_WINDOW, M_RATE, M_STORM, M_ROOMS };
enum placement { PL_ANY, PL_SAME, PL_CROSS };
enum cstate { C_IDLE, C_CONNECTING, C_HTTP, C_OPEN, C_READY, C_DEAD };

/* One client connection. */
struct conn {
  int fd;
  uint32_t idx;
  uint32_t room;
  uint8_t state;
  uint8_t publisher; /* sends messages (fan-out publisher or rooms member) */
  uint8_t primed;    /* has received a probe: it is surely in its room */
  uint8_t frag_op;   /* opcode of the fragmented message being assembled */
  uint8_t epout;     /* EPOLLOUT armed */
  uint32_t gen;      /* attempt number: changes when the slot reconnects */
  uint32_t busy;     /* rooms closed loop: its messages in flight */
  char node[9];      /* roomcast isolate (connectionId prefix) */
  char accept[32];   /* expected Sec-WebSocket-Accept */
  uint8_t sse;       /* reads GET /sse (text/event-stream) instead of a WebSocket */
  uint8_t chunk_st;  /* SSE chunked body: 0 size line, 1 data, 2 CRLF after data */
  uint8_t chunked;   /* SSE response uses Transfer-Encoding: chunked */
  uint32_t chunk_left;
  uint64_t since_ns; /* start of the current connection attempt */
  uint8_t *in;       /* bytes of an incomplete frame kept between reads */
  uint32_t in_len, in_cap;
  uint8_t *out; /* bytes the socket did not take yet */
  uint32_t out_len, out_cap;
  uint8_t *frag; /* payload of a fragmented message so far */
  uint32_t frag_len, frag_cap;
};

#define MAX_PIDS 8
#define MAX_PORTS 8

/* Command line settings. */
struct cfg {
  const char *host;
  int port;
  const char *path;
  int proto;
  int batch; /* roomcast: offer roomcast.v1.batch (frame coalescing) */
  int mode;
  int placement;
  uint32_t subs;    /* fan-out subscribers, or storm connections */
  uint32_t rooms;   /* rooms mode: number of rooms */
  uint32_t members; /* rooms mode: connections per room */
  uint32_t msgs;    /* measured messages */
  uint32_t warmup;  /* unmeasured messages sent first */
  uint32_t window;  /* messages in flight (per connection in rooms mode) */
  double rate;      /* messages per second in total (rate / rooms modes) */
  uint32_t size;    /* payload bytes */
  uint32_t conc;    /* handshakes in flight */
  double time_limit;
  double connect_limit; /* connecting and priming must end within this */
  uint32_t idle_ms; /* end the run after this long without a delivery */
  double hold;      /* storm: keep connections open this long at most */
  int server_pid;   /* the first of server_pids */
  int npids;        /* --server-pid a,b,...: CPU is their sum (and each) */
  int server_pids[MAX_PIDS];
  int nports;       /* --port a,b,...: subscribers spread over them */
  int ports[MAX_PORTS];
  int sse;          /* --sse: subscribers read GET /sse, join by POST */
  uint32_t http_conns; /* keep-alive HTTP connections for POSTs */
  const char *app_id, *app_key, *app_secret; /* --proto pusher */
  const char *api_key; /* --api-key K: roomcast publishes via POST /api/rooms/:room/messages */
  int http_publish;    /* publishes are HTTP requests (Pusher API, --api-key) */
};

/* Counters of one run. */
struct stats {
  uint64_t delivered;  /* measured deliveries (first copy only) */
  uint64_t delivered_all;
  uint64_t expected;   /* measured deliveries that should have arrived */
  uint64_t duplicates;
  uint64_t published;  /* messages sent, warm-up included */
  uint64_t invalid;    /* frames with a marker we could not use */
  uint64_t errors;     /* protocol error frames from the server */
  uint64_t connected;  /* connections that reached READY */
  uint64_t failed;     /* connection attempts that failed */
  uint64_t rejected;   /* placement: connections closed and retried */
  uint64_t closed;     /* connections the server closed during the run */
  uint64_t t_connect, t_last_ready; /* connect phase start, last READY */
  uint64_t t_measure, t_last_delivery, t_end;
  /* steady-state check: when half of the measured deliveries had arrived */
  uint64_t t_half, delivered_half;
};

/* State of the run, shared by the main loop and the protocol layer. */
struct run {
  uint32_t pending;     /* connections between connect() and READY */
  uint32_t next_start;  /* next slot to connect */
  uint32_t ready_count; /* connections READY now */
  uint32_t total_msgs;  /* warm-up + measured */
  uint32_t next_seq, inflight, done_msgs;
  uint32_t per_msg;     /* deliveries each message should make */
  uint16_t *counts;     /* deliveries per message so far */
  uint32_t *owner;      /* rooms mode: publishing connection per message */
  int64_t *last_seq;    /* fan-out: last sequence seen per connection */
  uint64_t last_progress;
  const char *fail_reason;
  int running; /* publishing phase started */
  int64_t cur_seq; /* sequence of the message being sent, -1 for probes */
};

/* Globals shared by the source files. */
extern struct cfg G_cfg;
extern struct stats G_st;
extern struct conn *G_conns;
extern uint32_t G_nconns;
extern int G_epfd;
extern struct run G_run;

/* loadgen.c */
uint64_t now_ns(void);
void die(const char *fmt, ...);

/* loadgen_proto.c */
void on_open(struct conn *c);
void on_data(struct conn *c, const uint8_t *p, size_t n);
void on_closed(struct conn *c, const char *why);
void publish(struct conn *c);
void send_probe(struct conn *c);
void pump(void);

/* loadgen_ws.c */
uint64_t rnd64(void);
void rnd_seed(void);
int conn_start(struct conn *c);
void conn_event(struct conn *c, uint32_t events);
void conn_close(struct conn *c);
int ws_send(struct conn *c, int opcode, const void *payload, size_t len);

/* loadgen_http.c: a pool of keep-alive HTTP/1.1 connections for POSTs */
#define IDX_HTTP_BASE 0xFFFFFF00u
#define HTTP_MAX 16
enum hkind { H_PUBLISH, H_JOIN };
void http_post(const char *path, const char *extra_headers, const char *body,
               size_t body_len, int kind);
void http_event(uint32_t i, uint32_t events);
uint64_t http_requests_done(void);

/* loadgen_sse.c: the SSE subscriber (GET /sse, POST /sse/:session join) */
void sse_send_get(struct conn *c);
void sse_readable(struct conn *c);

/* loadgen_pusher.c: Pusher protocol 7 frames and the signed HTTP API */
void pusher_publish(uint32_t room, const char *data);
int pusher_frame(struct conn *c, const uint8_t *p, size_t n);

/* loadgen_crypto.c */
void md5_hex(const uint8_t *msg, size_t len, char out[33]);
void hmac_sha256_hex(const char *key, const char *msg, char out[65]);

/* loadgen_ws.c, loadgen_proto.c */
int conn_port(const struct conn *c);
void become_ready(struct conn *c);

/* loadgen_args.c */
void parse_args(int argc, char **argv);

/* loadgen_sha1.c */
void sha1(const uint8_t *msg, size_t len, uint8_t out[20]);
void base64(const uint8_t *in, size_t len, char *out);

/* loadgen_stats.c */
void lat_init(uint64_t capacity);
void lat_add(uint64_t ns);
void cpu_mark_start(void);
void cpu_mark_end(void);
void print_result(int timed_out, const char *error);

#endif
