/* librdkafka consumer reading `count` messages from the start of partition 0 of `topic` (assign, no group offsets).
 * At the end of the partition it seeks back to the start and goes on: librdkafka's mock cluster keeps only the last
 * few MB of a partition, so against it the same window is read again and again. Prints one JSON line: msgs/s and
 * MB/s of message values from the first message to the last, and how many times it rewound.
 * Usage: consume-load BOOTSTRAP TOPIC COUNT */
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "bench-util.h"

static void set(rd_kafka_conf_t *c, const char *k, const char *v) {
  char err[512];
  if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s: %s\n", k, err);
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: consume-load BOOTSTRAP TOPIC COUNT\n");
    return 2;
  }
  size_t count = strtoul(argv[3], 0, 10);
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", argv[1]);
  set(conf, "group.id", "berth-bench");
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.auto.offset.store", "false");
  set(conf, "fetch.max.bytes", "52428800");
  set(conf, "max.partition.fetch.bytes", "8388608");
  set(conf, "queued.max.messages.kbytes", "262144");
  set(conf, "enable.partition.eof", "true");
  set(conf, "fetch.wait.max.ms", "10"); /* a rewind waits for the fetch in flight at the end */
  set(conf, "log_level", "3");
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", err);
    return 1;
  }
  rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tp, argv[2], 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, tp);
  size_t n = 0, rewinds = 0;
  int64_t start = 0;
  double bytes = 0, t0 = 0, deadline = now_us() + 120e6;
  while (n < count && now_us() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
      } else if (n < count) {
        rewinds++;
        tp->elems[0].offset = start; /* absolute: a logical offset costs a ListOffsets round and a pause */
        rd_kafka_error_t *e = rd_kafka_seek_partitions(rk, tp, 5000);
        if (e) {
          fprintf(stderr, "seek: %s\n", rd_kafka_error_string(e));
          rd_kafka_error_destroy(e);
        }
      }
    } else {
      if (n == 0) {
        t0 = now_us();
        start = m->offset;
      }
      n++;
      bytes += (double)m->len;
    }
    rd_kafka_message_destroy(m);
  }
  double secs = (now_us() - t0) / 1e6;
  printf("{\"msgs\":%zu,\"bytes\":%.0f,\"seconds\":%.4f,\"msgsPerSec\":%.1f,\"mbPerSec\":%.2f,\"rewinds\":%zu}\n", n, bytes,
         secs, n / secs, bytes / 1e6 / secs, rewinds);
  rd_kafka_topic_partition_list_destroy(tp);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return n < count;
}
