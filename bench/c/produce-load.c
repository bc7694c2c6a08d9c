/* librdkafka producer at full speed: `count` messages of `size` bytes to partition 0 of `topic`. Prints one JSON line:
 * msgs/s and MB/s from the first send to the last delivery report, and p50/p99 of send-to-delivery latency.
 * Usage: produce-load BOOTSTRAP TOPIC SIZE COUNT ACKS [LINGER_MS=5] [BATCH_BYTES=1000000] */
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench-util.h"

static double *lat;
static size_t nlat, failed;
static double t0;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    if (failed++ == 0) fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    return;
  }
  lat[nlat++] = now_us() - t0 - (double)(uintptr_t)m->_private;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v) {
  char err[512];
  if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s: %s\n", k, err);
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: produce-load BOOTSTRAP TOPIC SIZE COUNT ACKS [LINGER_MS] [BATCH_BYTES]\n");
    return 2;
  }
  size_t size = strtoul(argv[3], 0, 10), count = strtoul(argv[4], 0, 10);
  const char *linger = argc > 6 ? argv[6] : "5";
  long batch = argc > 7 ? strtol(argv[7], 0, 10) : 1000000;
  char buf[64], err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", argv[1]);
  set(conf, "acks", argv[5]);
  set(conf, "linger.ms", linger);
  snprintf(buf, sizeof buf, "%ld", batch);
  set(conf, "batch.size", buf);
  snprintf(buf, sizeof buf, "%ld", batch + 1024 > 1000000 ? batch + 1024 : 1000000);
  set(conf, "message.max.bytes", buf);
  set(conf, "queue.buffering.max.messages", "1000000");
  set(conf, "queue.buffering.max.kbytes", "1048576");
  set(conf, "log_level", "3");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", err);
    return 1;
  }
  lat = malloc(count * sizeof *lat);
  char *payload = malloc(size);
  for (size_t i = 0; i < size; i++) payload[i] = (char)('a' + i % 26);
  t0 = now_us();
  for (size_t i = 0; i < count; i++) {
    for (;;) {
      /* No copy flag: the payload is one constant buffer that outlives every message. */
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE(payload, size),
          RD_KAFKA_V_OPAQUE((void *)(uintptr_t)(now_us() - t0)), RD_KAFKA_V_END);
      if (!e) break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
        return 1;
      }
      rd_kafka_poll(rk, 5);
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 120000);
  double secs = (now_us() - t0) / 1e6;
  double p50 = quantile(lat, nlat, 0.5) / 1e3, p99 = quantile(lat, nlat, 0.99) / 1e3;
  printf("{\"msgs\":%zu,\"failed\":%zu,\"seconds\":%.4f,\"msgsPerSec\":%.1f,\"mbPerSec\":%.2f,\"p50Ms\":%.3f,"
         "\"p99Ms\":%.3f}\n",
         nlat, failed, secs, nlat / secs, nlat * (double)size / 1e6 / secs, p50, p99);
  rd_kafka_destroy(rk);
  return failed ? 1 : 0;
}
