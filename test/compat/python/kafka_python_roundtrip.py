"""Admin, produce, consume and a consumer group through kafka-python (Debian's python3-kafka: the Kafka protocol in
pure Python, independent of librdkafka) against a Berth broker.

Usage: kafka_python_roundtrip.py BOOTSTRAP TOPIC_PREFIX

Prints one JSON document of what was sent, acknowledged, consumed and answered (bytes as hex); the test on the Node
side compares it with what it expects and with what the broker stored. Exits 0 when the script ran to the end.
"""
import hashlib
import json
import sys
import threading
import time

import kafka
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import KafkaError

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
COUNT = 30
BASE_TS = 1_700_000_000_000
GROUP_TOPIC_PARTITIONS = 4
GROUP_MESSAGES = 200


def payload(tag, i, size):
    digest = hashlib.sha256(f"{tag}-{i}".encode()).digest()
    return (digest[:8] * (size // 8 + 1))[:size]


def error_name(e):
    return type(e).__name__


def admin(bootstrap, prefix):
    a = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=f"{prefix}-admin")
    out = {"apiVersion": list(a.config["api_version"])}
    a.create_topics([NewTopic(f"{prefix}-adm-a", 2, 1, topic_configs={"retention.ms": "3600000"}),
                     NewTopic(f"{prefix}-adm-b", 1, 1)])
    try:
        a.create_topics([NewTopic(f"{prefix}-adm-a", 2, 1)])
        out["createAgain"] = None
    except KafkaError as e:
        out["createAgain"] = error_name(e)
    cluster = a.describe_cluster()
    out["cluster"] = {"clusterId": cluster["cluster_id"], "controllerId": cluster["controller_id"],
                      "brokers": [[b["node_id"], b["host"], b["port"]] for b in cluster["brokers"]]}
    a.create_partitions({f"{prefix}-adm-a": NewPartitions(3)})
    a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, f"{prefix}-adm-a", configs={"retention.ms": "7200000"})])
    described = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, f"{prefix}-adm-a")])
    entries = {e[0]: e[1] for e in described[0].resources[0][4]}
    out["retentionMs"] = entries.get("retention.ms")
    a.delete_topics([f"{prefix}-adm-b"])
    out["after"] = sorted(t for t in a.list_topics() if t.startswith(f"{prefix}-adm-"))
    probe = KafkaConsumer(bootstrap_servers=bootstrap)
    out["partitionsAfter"] = sorted(probe.partitions_for_topic(f"{prefix}-adm-a") or [])
    probe.close()
    a.close()
    return out


def produce_and_read(bootstrap, topic, codec, acks):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=acks, linger_ms=20,
                             compression_type=None if codec == "none" else codec)
    sent, futures = [], []
    for i in range(COUNT):
        key = None if i % 10 == 9 else payload(f"{codec}-k", i, 1 + i)
        value = payload(f"{codec}-v", i, 50 + 40 * i)
        headers = [("codec", codec.encode()), ("bin", payload("h", i, 5)), ("dup", b"1"), ("dup", b"2")]
        futures.append(producer.send(topic, value=value, key=key, headers=headers, partition=0,
                                     timestamp_ms=BASE_TS + i * 1000))
        sent.append({"key": key.hex() if key is not None else None, "value": value.hex(),
                     "headers": [[k, v.hex()] for k, v in headers], "timestamp": BASE_TS + i * 1000})
    producer.flush(15)
    acked = []
    for f in futures:
        md = f.get(timeout=15)
        acked.append({"partition": md.partition, "offset": md.offset})
    producer.close()

    tp = TopicPartition(topic, 0)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, check_crcs=True,
                             fetch_max_wait_ms=50, consumer_timeout_ms=10_000)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = []
    for msg in consumer:
        got.append({"offset": msg.offset, "key": msg.key.hex() if msg.key is not None else None,
                    "value": msg.value.hex(), "headers": [[k, v.hex()] for k, v in msg.headers],
                    "timestamp": msg.timestamp, "timestampType": msg.timestamp_type})
        if len(got) == COUNT:
            break
    watermarks = [consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp]]
    by_time = consumer.offsets_for_times({tp: BASE_TS + 12_500})[tp]
    consumer.seek(tp, 20)
    after_seek = next(consumer).offset
    consumer.close()
    return {"sent": sent, "acked": acked, "got": got, "watermarks": watermarks,
            "offsetForTime": by_time.offset if by_time else None, "afterSeek": after_seek}


def group(bootstrap, prefix):
    """Two members of one group share a 4-partition topic: each message once, commits read back."""
    topic, group_id = f"{prefix}-group", f"{prefix}-g"
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(GROUP_MESSAGES):
        producer.send(topic, value=b"m%d" % i, partition=i % GROUP_TOPIC_PARTITIONS)
    producer.flush(15)
    producer.close()
    # One thread per member: a member rejoins a rebalance only from its own poll(), so members polled in turn from
    # one thread would wait for each other until the rebalance timed out (as they would on Kafka).
    seen, assignments, committed = [], [None, None], {}
    lock = threading.Lock()

    def member(n):
        c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
                          auto_offset_reset="earliest", fetch_max_wait_ms=50, session_timeout_ms=10_000,
                          heartbeat_interval_ms=500)
        deadline = time.time() + 30
        while time.time() < deadline:
            batch = [r.value.decode() for records in c.poll(timeout_ms=100).values() for r in records]
            with lock:
                seen.extend(batch)
                assignments[n] = sorted(tp.partition for tp in c.assignment())
                # Both stay until everything is read and the group has settled with a share for each, so that
                # neither commits partitions the other has taken over.
                a, b = assignments
                if len(seen) >= GROUP_MESSAGES and a and b and sorted(a + b) == list(range(GROUP_TOPIC_PARTITIONS)):
                    break
        c.commit()
        with lock:
            for tp in c.assignment():
                committed[str(tp.partition)] = c.committed(tp)
        return c

    members, threads = [], []
    for n in range(2):
        t = threading.Thread(target=lambda n=n: members.append(member(n)))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    for c in members:
        c.close()
    a = KafkaAdminClient(bootstrap_servers=bootstrap)
    listed = sorted(g[0] for g in a.list_consumer_groups() if g[0] == group_id)
    offsets = {str(tp.partition): o.offset for tp, o in a.list_consumer_group_offsets(group_id).items()}
    a.close()
    return {"seen": seen, "assignments": assignments, "committed": committed, "listed": listed,
            "adminOffsets": offsets}


def main():
    bootstrap, prefix = sys.argv[1], sys.argv[2]
    out = {"client": kafka.__version__, "admin": admin(bootstrap, prefix), "codecs": {}, "acks": {}}
    for codec in CODECS:
        out["codecs"][codec] = produce_and_read(bootstrap, f"{prefix}-{codec}", codec, "all")
    for acks in [0, 1]:
        out["acks"][str(acks)] = produce_and_read(bootstrap, f"{prefix}-acks{acks}", "none", acks)
    out["group"] = group(bootstrap, prefix)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
