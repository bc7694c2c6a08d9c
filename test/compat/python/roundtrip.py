"""Produce and consume through confluent_kafka (librdkafka) against a Berth broker.

Usage: roundtrip.py BOOTSTRAP TOPIC_PREFIX

For each codec, produces binary keys, values and headers with acks=all into TOPIC_PREFIX-<codec> partition 0,
waits for every delivery report, then reads the partition back with a plain Consumer using assign() (no group
membership), and checks watermarks and offsets_for_times. Prints one JSON document: what was produced (hex), the
delivery reports, what was consumed (hex), so the test on the Node side can compare them with what the broker
stored. Exits 0 when the script itself ran to the end; the comparisons are the test's job.
"""
import hashlib
import json
import sys

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient, NewTopic

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
COUNT = 30
BASE_TS = 1_700_000_000_000


def payload(tag, i, size):
    # Deterministic bytes: repeated digests, so they are binary but still compress (librdkafka keeps the codec
    # only when it shrinks the batch).
    digest = hashlib.sha256(f"{tag}-{i}".encode()).digest()
    return (digest[:8] * (size // 8 + 1))[:size]


def outcome(futures):
    result = {}
    for name, f in futures.items():
        try:
            f.result()
            result[name] = None
        except ck.KafkaException as e:
            result[name] = e.args[0].name()
    return result


def admin(bootstrap, prefix):
    a = AdminClient({"bootstrap.servers": bootstrap})
    out = {}
    out["create"] = outcome(a.create_topics(
        [NewTopic(f"{prefix}-adm-a", 3, 1, config={"retention.ms": "3600000"}), NewTopic(f"{prefix}-adm-b", 1, 1)],
        operation_timeout=5))
    out["createAgain"] = outcome(a.create_topics([NewTopic(f"{prefix}-adm-a", 3, 1)], operation_timeout=5))
    md = a.list_topics(timeout=10)
    out["clusterId"] = md.cluster_id
    out["controllerId"] = md.controller_id
    out["brokers"] = [[b.id, b.host, b.port] for b in md.brokers.values()]
    out["partitions"] = {t: sorted(md.topics[t].partitions) for t in md.topics if t.startswith(f"{prefix}-adm-")}
    out["leaders"] = sorted({p.leader for p in md.topics[f"{prefix}-adm-a"].partitions.values()})
    out["delete"] = outcome(a.delete_topics([f"{prefix}-adm-b"], operation_timeout=5))
    out["after"] = sorted(t for t in a.list_topics(timeout=10).topics if t.startswith(f"{prefix}-adm-"))
    return out


def main():
    bootstrap, prefix = sys.argv[1], sys.argv[2]
    out = {"librdkafka": ck.libversion()[0], "client": ck.version()[0], "codecs": {}}
    out["admin"] = admin(bootstrap, prefix)
    for codec in CODECS:
        topic = f"{prefix}-{codec}"
        producer = ck.Producer({
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "compression.type": codec,
            "linger.ms": 20,
            "message.timeout.ms": 15000,
        })
        sent, reports = [], []

        def on_delivery(err, msg):
            reports.append({"error": str(err) if err else None, "offset": msg.offset(), "partition": msg.partition()})

        for i in range(COUNT):
            key = None if i % 10 == 9 else payload(f"{codec}-k", i, 1 + i)
            value = payload(f"{codec}-v", i, 50 + 40 * i)
            headers = [("codec", codec.encode()), ("bin", payload("h", i, 5)), ("dup", b"1"), ("dup", b"2")]
            producer.produce(topic, value=value, key=key, headers=headers, partition=0,
                             timestamp=BASE_TS + i * 1000, on_delivery=on_delivery)
            sent.append({"key": key.hex() if key is not None else None, "value": value.hex(),
                         "headers": [[k, v.hex()] for k, v in headers], "timestamp": BASE_TS + i * 1000})
        remaining = producer.flush(15)

        consumer = ck.Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": f"{prefix}-unused",  # required by the client; assign() does not join the group
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 50,
            "check.crcs": True,
        })
        consumer.assign([ck.TopicPartition(topic, 0, 0)])
        got, errors = [], []
        while True:
            msg = consumer.poll(10)
            if msg is None:
                errors.append("poll timed out")
                break
            if msg.error():
                if msg.error().code() == ck.KafkaError._PARTITION_EOF:
                    break
                errors.append(str(msg.error()))
                continue
            key = msg.key()
            got.append({"offset": msg.offset(), "key": key.hex() if key is not None else None,
                        "value": msg.value().hex(),
                        "headers": [[k, v.hex()] for k, v in (msg.headers() or [])],
                        "timestamp": msg.timestamp()[1], "timestampType": msg.timestamp()[0]})
        low, high = consumer.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10)
        by_time = consumer.offsets_for_times([ck.TopicPartition(topic, 0, BASE_TS + 12_500)], timeout=10)
        consumer.close()
        out["codecs"][codec] = {
            "sent": sent, "reports": reports, "unflushed": remaining, "got": got, "errors": errors,
            "watermarks": [low, high], "offsetForTime": by_time[0].offset,
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
