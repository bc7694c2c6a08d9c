/* End-to-end latency at a fixed rate: one process holds a librdkafka producer sending `rate` messages/s for `seconds`
 * (each value carries its sequence number and send time) and a consumer thread reading them back; both use the same
 * monotonic clock. The first half second is warm-up and not counted. Prints one JSON line with p50/p99/max in ms.
 * Usage: latency BOOTSTRAP TOPIC RATE SECONDS [SIZE=100] [LINGER_MS=0] [FETCH_WAIT_MAX_MS=100] */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench-util.h"

static int64_t first_offset = -1;
static size_t total, warmup, received, counted;
static double *lat;
static const char *bootstrap, *topic, *fetch_wait = "100";

static void set(rd_kafka_conf_t *c, const char *k, const char *v) {
  char err[512];
  if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s: %s\n", k, err);
    exit(2);
  }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
  else if (first_offset < 0) first_offset = m->offset;
}

static void *consume(void *arg) {
  (void)arg;
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "group.id", "berth-bench-latency");
  set(conf, "enable.auto.commit", "false");
  set(conf, "fetch.wait.max.ms", fetch_wait);
  set(conf, "log_level", "3");
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tp, topic, 0)->offset = first_offset + 1;
  rd_kafka_assign(rk, tp);
  double deadline = now_us() + 60e6;
  while (received < total && now_us() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err && m->len >= 16) {
      double at = now_us();
      uint64_t seq;
      double sent;
      memcpy(&seq, m->payload, 8);
      memcpy(&sent, (char *)m->payload + 8, 8);
      received++;
      if (seq >= warmup) lat[counted++] = at - sent;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_topic_partition_list_destroy(tp);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: latency BOOTSTRAP TOPIC RATE SECONDS [SIZE] [LINGER_MS]\n");
    return 2;
  }
  bootstrap = argv[1];
  topic = argv[2];
  if (argc > 7) fetch_wait = argv[7];
  double rate = strtod(argv[3], 0), seconds = strtod(argv[4], 0);
  size_t size = argc > 5 ? strtoul(argv[5], 0, 10) : 100;
  if (size < 16) size = 16;
  total = (size_t)(rate * (seconds + 0.5));
  warmup = (size_t)(rate * 0.5);
  lat = malloc(total * sizeof *lat);
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "acks", "1");
  set(conf, "linger.ms", argc > 6 ? argv[6] : "0");
  set(conf, "log_level", "3");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  char *payload = calloc(1, size);
  /* A marker message first: its offset is where the consumer starts, and it creates the topic on first use. */
  rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE("start", 5),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  rd_kafka_flush(rk, 30000);
  if (first_offset < 0) {
    fprintf(stderr, "marker message not delivered\n");
    return 1;
  }
  pthread_t th;
  pthread_create(&th, 0, consume, 0);
  double t0 = now_us();
  for (size_t i = 0; i < total;) {
    double due = t0 + (double)i * 1e6 / rate;
    double now = now_us();
    if (now < due) {
      struct timespec ts = {0, (long)((due - now) * 1e3)};
      nanosleep(&ts, 0);
      continue;
    }
    while (i < total && t0 + (double)i * 1e6 / rate <= now) {
      double sent = now_us();
      uint64_t seq = i;
      memcpy(payload, &seq, 8);
      memcpy(payload + 8, &sent, 8);
      while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE(payload, size),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 1);
      i++;
    }
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 30000);
  pthread_join(th, 0);
  size_t n = counted;
  double max = 0;
  for (size_t i = 0; i < n; i++)
    if (lat[i] > max) max = lat[i];
  double p50 = quantile(lat, n, 0.5) / 1e3, p99 = quantile(lat, n, 0.99) / 1e3;
  printf("{\"sent\":%zu,\"received\":%zu,\"counted\":%zu,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"maxMs\":%.3f}\n", total,
         received, n, p50, p99, max / 1e3);
  rd_kafka_destroy(rk);
  return received < total;
}
