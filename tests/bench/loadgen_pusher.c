/*
 * Pusher protocol 7 for the load generator: subscribers open
 * /app/<key>?protocol=7, answer pusher:connection_established with a
 * pusher:subscribe of their channel and are ready on
 * pusher_internal:subscription_succeeded; the fan-out publisher's socket
 * subscribes to nothing (the HTTP API delivers to every subscriber). Messages
 * are published with the signed HTTP API, POST /apps/<id>/events, signed once
 * per request (body_md5, auth_signature = HMAC-SHA256 over the sorted query).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "loadgen.h"

void pusher_publish(uint32_t room, const char *data) {
  char body[2560], md5[33], query[256], sign[512], sig[65], path[768];
  int bn = snprintf(body, sizeof body,
                    "{\"name\":\"m\",\"channels\":[\"r%u\"],\"data\":\"%s\"}",
                    room, data);
  if (bn < 0 || (size_t)bn >= sizeof body) die("Pusher event body too long");
  md5_hex((const uint8_t *)body, (size_t)bn, md5);
  snprintf(query, sizeof query,
           "auth_key=%s&auth_timestamp=%lld&auth_version=1.0&body_md5=%s",
           G_cfg.app_key, (long long)time(NULL), md5);
  snprintf(sign, sizeof sign, "POST\n/apps/%s/events\n%s", G_cfg.app_id,
           query);
  hmac_sha256_hex(G_cfg.app_secret, sign, sig);
  snprintf(path, sizeof path, "/apps/%s/events?%s&auth_signature=%s",
           G_cfg.app_id, query, sig);
  http_post(path, "", body, (size_t)bn, H_PUBLISH);
}

static void send_text(struct conn *c, const char *s, size_t n) {
  if (c->fd >= 0 && ws_send(c, 1, s, n) < 0) on_closed(c, "send failed");
}

/* Control frames of one connection; returns 1 if the frame was one. */
int pusher_frame(struct conn *c, const uint8_t *p, size_t n) {
  if (memmem(p, n, "\"pusher:connection_established\"", 31)) {
    if (c->state != C_OPEN) return 1;
    if (c->publisher || G_cfg.mode == M_STORM) {
      become_ready(c);
      return 1;
    }
    char sub[128];
    int k = snprintf(sub, sizeof sub,
                     "{\"event\":\"pusher:subscribe\",\"data\":"
                     "{\"auth\":\"\",\"channel\":\"r%u\"}}",
                     c->room);
    send_text(c, sub, (size_t)k);
    return 1;
  }
  if (memmem(p, n, "\"pusher_internal:subscription_succeeded\"", 39)) {
    if (c->state == C_OPEN) become_ready(c);
    return 1;
  }
  if (memmem(p, n, "\"pusher:ping\"", 13)) {
    static const char pong[] = "{\"event\":\"pusher:pong\",\"data\":{}}";
    send_text(c, pong, sizeof pong - 1);
    return 1;
  }
  if (memmem(p, n, "\"pusher:error\"", 14) ||
      memmem(p, n, "\"pusher:subscription_error\"", 27)) {
    if (G_st.errors++ == 0)
      fprintf(stderr, "loadgen: server error: %.*s\n", (int)(n > 300 ? 300 : n),
              (const char *)p);
    return 1;
  }
  return 0;
}
