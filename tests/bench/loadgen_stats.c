/*
 * Measurements of the load generator: publish-to-receive latency samples
 * (exact percentiles by sorting), CPU of the server, of the generator and of
 * everything else from /proc, and the one-line JSON result.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

/* Latencies in units of 100 ns (uint32 holds up to 429 s). */
static uint32_t *lat;
static uint64_t lat_len, lat_cap, lat_dropped;

void lat_init(uint64_t capacity) {
  const uint64_t max = 16u << 20;
  lat_cap = capacity < max ? capacity : max;
  if (lat_cap == 0) lat_cap = 1;
  lat = malloc(lat_cap * sizeof *lat);
  if (!lat) die("out of memory");
}

void lat_add(uint64_t ns) {
  if (lat_len == lat_cap) {
    lat_dropped++;
    return;
  }
  uint64_t v = ns / 100;
  lat[lat_len++] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Percentile q in [0, 1] in milliseconds (nearest rank), -1 with no data. */
static double pct_ms(double q) {
  if (lat_len == 0) return -1;
  uint64_t rank = (uint64_t)(q * (double)lat_len + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > lat_len) rank = lat_len;
  return lat[rank - 1] / 1e4;
}

/* ---- CPU accounting ---- */

struct cpu_snap {
  uint64_t t_ns;
  double gen_s;      /* this process */
  double server_s;   /* utime + stime of --server-pid, threads included */
  double each_s[MAX_PIDS]; /* per pid when several are given */
  double busy_s;     /* all CPUs, from /proc/stat */
  int server_ok;
};

static struct cpu_snap snap0, snap1;

static double proc_cpu_s(int pid, int *ok) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  *ok = 0;
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  /* fields after ")": 3 state ... 14 utime 15 stime */
  unsigned long long ut = 0, st = 0;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
             &ut, &st) != 2)
    return 0;
  *ok = 1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double system_busy_s(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return 0;
  unsigned long long v[8] = {0};
  int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (got < 8) return 0;
  /* user nice system [idle iowait] irq softirq steal */
  unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static void take(struct cpu_snap *s) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  s->gen_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  s->server_s = 0;
  s->server_ok = G_cfg.npids > 0;
  for (int i = 0; i < G_cfg.npids; i++) {
    int ok;
    s->each_s[i] = proc_cpu_s(G_cfg.server_pids[i], &ok);
    s->server_s += s->each_s[i];
    if (!ok) s->server_ok = 0;
  }
  s->busy_s = system_busy_s();
  s->t_ns = now_ns();
}

void cpu_mark_start(void) { take(&snap0); }
void cpu_mark_end(void) { take(&snap1); }

/* ---- result line ---- */

static void num(const char *key, double v, int last) {
  if (v != v) printf("\"%s\":null%s", key, last ? "" : ",");
  else printf("\"%s\":%.6g%s", key, v, last ? "" : ",");
}

void print_result(int timed_out, const char *error) {
  static const char *modes[] = {"window", "rate", "storm", "rooms"};
  static const char *protos[] = {"roomcast", "raw", "socketio", "pusher"};
  if (snap1.t_ns == 0) cpu_mark_end();
  qsort(lat, lat_len, sizeof *lat, cmp_u32);
  double wall = snap0.t_ns ? (double)(snap1.t_ns - snap0.t_ns) / 1e9 : 0;
  uint64_t t_end = G_st.t_last_delivery ? G_st.t_last_delivery : snap1.t_ns;
  double dur = G_st.t_measure && t_end > G_st.t_measure
                   ? (double)(t_end - G_st.t_measure) / 1e9
                   : 0;
  double nan = 0.0 / 0.0;
  double gen = wall > 0 ? (snap1.gen_s - snap0.gen_s) / wall : nan;
  int sok = snap0.server_ok && snap1.server_ok;
  double srv = sok && wall > 0 ? (snap1.server_s - snap0.server_s) / wall : nan;
  double busy = wall > 0 ? (snap1.busy_s - snap0.busy_s) / wall : nan;
  double other = busy - gen - (sok ? srv : 0);
  if (other < 0) other = 0; /* clock-tick rounding */
  double srv_s = sok ? snap1.server_s - snap0.server_s : nan;
  double mean = 0;
  for (uint64_t i = 0; i < lat_len; i++) mean += lat[i] / 1e4;
  mean = lat_len ? mean / (double)lat_len : nan;
  double storm = G_st.t_last_ready > G_st.t_connect
                     ? (double)(G_st.t_last_ready - G_st.t_connect) / 1e9
                     : nan;
  printf("{\"mode\":\"%s\",\"proto\":\"%s\",", modes[G_cfg.mode],
         protos[G_cfg.proto]);
  num("subscribers", G_cfg.mode == M_ROOMS ? G_cfg.rooms * G_cfg.members
                                           : G_cfg.subs, 0);
  num("messages", G_cfg.mode == M_STORM ? 0 : G_cfg.msgs, 0);
  num("warmup", G_cfg.mode == M_STORM ? 0 : G_cfg.warmup, 0);
  num("published", (double)G_st.published, 0);
  num("delivered", (double)G_st.delivered, 0);
  num("expected", (double)G_st.expected, 0);
  num("lost", (double)(G_st.expected > G_st.delivered
                           ? G_st.expected - G_st.delivered
                           : 0), 0);
  num("duplicates", (double)G_st.duplicates, 0);
  num("invalid", (double)G_st.invalid, 0);
  num("serverErrors", (double)G_st.errors, 0);
  num("durationS", dur, 0);
  num("deliveriesPerS", dur > 0 ? (double)G_st.delivered / dur : nan, 0);
  /* Steady state: the rates of the first and second half of the deliveries. */
  int halves = G_st.t_half > G_st.t_measure && t_end > G_st.t_half &&
               G_st.delivered > G_st.delivered_half;
  num("firstHalfPerS",
      halves ? (double)G_st.delivered_half /
                   ((double)(G_st.t_half - G_st.t_measure) / 1e9)
             : nan, 0);
  num("secondHalfPerS",
      halves ? (double)(G_st.delivered - G_st.delivered_half) /
                   ((double)(t_end - G_st.t_half) / 1e9)
             : nan, 0);
  num("messagesPerS",
      dur > 0 && G_cfg.msgs ? (double)G_cfg.msgs / dur : nan, 0);
  num("p50Ms", lat_len ? pct_ms(0.50) : nan, 0);
  num("p99Ms", lat_len ? pct_ms(0.99) : nan, 0);
  num("p999Ms", lat_len ? pct_ms(0.999) : nan, 0);
  num("maxMs", lat_len ? pct_ms(1.0) : nan, 0);
  num("meanMs", mean, 0);
  num("latencySamples", (double)lat_len, 0);
  num("cpuWindowS", wall, 0);
  num("generatorCpu", gen, 0);
  num("serverCpu", srv, 0);
  num("otherCpu", other, 0);
  num("serverCpuUsPerDelivery",
      G_st.delivered ? srv_s * 1e6 / (double)G_st.delivered : nan, 0);
  if (G_cfg.npids > 1) { /* each server process (e.g. nodes, redis-server) */
    printf("\"serverCpus\":[");
    for (int i = 0; i < G_cfg.npids; i++)
      printf("%s%.6g", i ? "," : "",
             sok && wall > 0 ? (snap1.each_s[i] - snap0.each_s[i]) / wall : 0);
    printf("],");
  }
  if (G_cfg.sse) printf("\"transport\":\"sse\",");
  num("httpRequests", (double)http_requests_done(), 0);
  num("connected", (double)G_st.connected, 0);
  num("connectFailed", (double)G_st.failed, 0);
  num("closedByServer", (double)G_st.closed, 0);
  num("placementRetries", (double)G_st.rejected, 0);
  num("connectS", storm, 0);
  num("connectionsPerS", storm > 0 ? (double)G_st.connected / storm : nan, 0);
  printf("\"timedOut\":%s,", timed_out ? "true" : "false");
  if (error) printf("\"error\":\"%s\"}\n", error);
  else printf("\"error\":null}\n");
  fflush(stdout);
}
