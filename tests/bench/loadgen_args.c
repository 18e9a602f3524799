/*
 * Command line of the load generator (long options only; see the comment at
 * the top of loadgen.c for the modes).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

static uint32_t num_arg(const char *name, const char *v) {
  char *e;
  unsigned long x = strtoul(v, &e, 10);
  if (*e || x > 0xFFFFFFFFul) die("bad --%s: %s", name, v);
  return (uint32_t)x;
}

/* Parses "a,b,c" into out (at most max numbers); returns the count. */
static int num_list(const char *name, const char *v, int *out, int max) {
  int n = 0;
  const char *p = v;
  while (*p) {
    char *e;
    unsigned long x = strtoul(p, &e, 10);
    if (e == p || (*e && *e != ',') || x > 0x7FFFFFFFul || n == max)
      die("bad --%s: %s", name, v);
    out[n++] = (int)x;
    p = *e ? e + 1 : e;
  }
  if (n == 0) die("bad --%s: %s", name, v);
  return n;
}

static int pick(const char *name, const char *v, const char *const *names,
                int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(v, names[i]) == 0) return i;
  die("bad --%s: %s", name, v);
  return -1;
}

void parse_args(int argc, char **argv) {
  static const char *const protos[] = {"roomcast", "raw", "socketio",
                                       "roomcast-batch", "pusher"};
  static const char *const modes[] = {"window", "rate", "storm", "rooms"};
  static const char *const places[] = {"any", "same", "cross"};
  static const struct option opts[] = {
      {"host", 1, 0, 'h'},      {"port", 1, 0, 'p'},
      {"path", 1, 0, 'P'},      {"proto", 1, 0, 'x'},
      {"mode", 1, 0, 'm'},      {"placement", 1, 0, 'l'},
      {"subs", 1, 0, 'n'},      {"rooms", 1, 0, 'r'},
      {"members", 1, 0, 'k'},   {"msgs", 1, 0, 'M'},
      {"warmup", 1, 0, 'u'},    {"window", 1, 0, 'w'},
      {"rate", 1, 0, 'R'},      {"size", 1, 0, 's'},
      {"conc", 1, 0, 'c'},      {"time-limit", 1, 0, 't'},
      {"idle-ms", 1, 0, 'i'},   {"hold", 1, 0, 'H'},
      {"connect-limit", 1, 0, 'C'},
      {"server-pid", 1, 0, 'S'}, {"sse", 0, 0, 'E'},
      {"http-conns", 1, 0, 'q'}, {"app-id", 1, 0, 'A'},
      {"app-key", 1, 0, 'K'},   {"app-secret", 1, 0, 'Z'},
      {"api-key", 1, 0, 'Y'},
      {0, 0, 0, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    const char *name = "option";
    for (const struct option *q = opts; q->name; q++)
      if (q->val == o) name = q->name;
    switch (o) {
    case 'h': G_cfg.host = optarg; break;
    case 'p':
      G_cfg.nports = num_list(name, optarg, G_cfg.ports, MAX_PORTS);
      G_cfg.port = G_cfg.ports[0];
      break;
    case 'P': G_cfg.path = optarg; break;
    case 'x':
      G_cfg.proto = pick(name, optarg, protos, 5);
      if (G_cfg.proto == 3) { /* roomcast with batch frames */
        G_cfg.proto = P_ROOMCAST;
        G_cfg.batch = 1;
      } else if (G_cfg.proto == 4) {
        G_cfg.proto = P_PUSHER;
      }
      break;
    case 'm': G_cfg.mode = pick(name, optarg, modes, 4); break;
    case 'l': G_cfg.placement = pick(name, optarg, places, 3); break;
    case 'n': G_cfg.subs = num_arg(name, optarg); break;
    case 'r': G_cfg.rooms = num_arg(name, optarg); break;
    case 'k': G_cfg.members = num_arg(name, optarg); break;
    case 'M': G_cfg.msgs = num_arg(name, optarg); break;
    case 'u': G_cfg.warmup = num_arg(name, optarg); break;
    case 'w': G_cfg.window = num_arg(name, optarg); break;
    case 'R': G_cfg.rate = atof(optarg); break;
    case 's': G_cfg.size = num_arg(name, optarg); break;
    case 'c': G_cfg.conc = num_arg(name, optarg); break;
    case 't': G_cfg.time_limit = atof(optarg); break;
    case 'i': G_cfg.idle_ms = num_arg(name, optarg); break;
    case 'H': G_cfg.hold = atof(optarg); break;
    case 'C': G_cfg.connect_limit = atof(optarg); break;
    case 'S':
      G_cfg.npids = num_list(name, optarg, G_cfg.server_pids, MAX_PIDS);
      G_cfg.server_pid = G_cfg.server_pids[0];
      break;
    case 'E': G_cfg.sse = 1; break;
    case 'q': G_cfg.http_conns = num_arg(name, optarg); break;
    case 'A': G_cfg.app_id = optarg; break;
    case 'K': G_cfg.app_key = optarg; break;
    case 'Z': G_cfg.app_secret = optarg; break;
    case 'Y': G_cfg.api_key = optarg; break;
    default: die("unknown option (see the comment at the top of loadgen.c)");
    }
  }
  if (G_cfg.port <= 0) die("--port is required");
  if (G_cfg.size < 48 || G_cfg.size > 1500) die("--size must be 48..1500");
  if (G_cfg.mode == M_ROOMS && (G_cfg.members < 2 || G_cfg.rooms < 1))
    die("rooms mode needs --rooms >= 1 and --members >= 2");
  if (G_cfg.mode == M_RATE && G_cfg.rate <= 0) die("rate mode needs --rate");
  if (G_cfg.window < 1 || G_cfg.conc < 1) die("--window and --conc >= 1");
  if (G_cfg.placement != PL_ANY && G_cfg.proto != P_ROOMCAST)
    die("--placement needs --proto roomcast");
  if (G_cfg.sse && (G_cfg.proto != P_ROOMCAST || G_cfg.mode == M_ROOMS))
    die("--sse needs --proto roomcast and a fan-out or storm mode");
  if (G_cfg.proto == P_PUSHER &&
      (!G_cfg.app_id || !G_cfg.app_key || !G_cfg.app_secret))
    die("--proto pusher needs --app-id, --app-key and --app-secret");
  if (G_cfg.proto == P_PUSHER && G_cfg.mode == M_ROOMS)
    die("--proto pusher publishes through the HTTP API: fan-out modes only");
  if (G_cfg.api_key && (G_cfg.proto != P_ROOMCAST || G_cfg.mode == M_ROOMS ||
                        G_cfg.mode == M_STORM))
    die("--api-key needs --proto roomcast and a fan-out mode");
  G_cfg.http_publish = G_cfg.proto == P_PUSHER || G_cfg.api_key != NULL;
  if (G_cfg.http_conns == 0) G_cfg.http_conns = G_cfg.window < 8 ? G_cfg.window : 8;
  if (G_cfg.mode == M_RATE && G_cfg.http_conns < 4) G_cfg.http_conns = 4;
  if (G_cfg.http_conns > HTTP_MAX) die("--http-conns must be 1..%d", HTTP_MAX);
}

