#!/usr/bin/env python3
"""Consumer-group measurements against a running Sluice (or Kafka) cluster.

    .venv/bin/python scripts/group_bench.py --bootstrap-server HOST:PORT

1. Rebalance time: CONSUMERS kafka-python consumers (default 10) subscribe at
   once to a new topic of PARTITIONS partitions (default 100); the time from
   the first subscribe until every consumer holds its share and together they
   cover every partition (the first generation that completes, including
   group.initial.rebalance.delay.ms: run the broker with 0 to see the protocol
   cost alone).
2. Commit throughput: one client commits offsets of COMMIT_PARTITIONS
   partitions (default 1) as fast as it can for SECONDS seconds (default 5),
   synchronously, one OffsetCommit (= one ZooKeeper multi) at a time.
"""
import argparse
import threading
import time
import uuid

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.structs import OffsetAndMetadata


def rebalance_time(bootstrap, consumers, partitions):
    topic = "group-bench-%s" % uuid.uuid4().hex[:8]
    group = topic + "-group"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, partitions, 1)])
    admin.close()
    # Let the topic's metadata reach the brokers before timing.
    probe = KafkaConsumer(bootstrap_servers=bootstrap)
    deadline = time.monotonic() + 30
    while len(probe.partitions_for_topic(topic) or ()) < partitions:
        if time.monotonic() > deadline:
            raise SystemExit("topic %s did not appear" % topic)
        time.sleep(0.05)
    probe.close()

    assigned = [set() for _ in range(consumers)]
    stop = threading.Event()
    start = threading.Barrier(consumers + 1)

    def run(i):
        c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                          client_id="bench-%d" % i, enable_auto_commit=False,
                          heartbeat_interval_ms=500)
        start.wait()
        c.subscribe([topic])
        while not stop.is_set():
            c.poll(timeout_ms=50)
            assigned[i] = {tp.partition for tp in c.assignment()}
        c.close(autocommit=False)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(consumers)]
    for t in threads:
        t.start()
    start.wait()
    began = time.monotonic()
    share = partitions // consumers
    while True:
        snapshot = [set(a) for a in assigned]
        covered = set().union(*snapshot)
        if len(covered) == partitions and all(len(a) >= share for a in snapshot) \
                and sum(len(a) for a in snapshot) == partitions:
            took = time.monotonic() - began
            break
        if time.monotonic() - began > 120:
            stop.set()
            raise SystemExit("no complete assignment within 120 s")
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join()
    return took


def commit_throughput(bootstrap, partitions, seconds):
    topic = "group-bench-commit-%s" % uuid.uuid4().hex[:8]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, partitions, 1)])
    admin.close()
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=topic + "-group",
                      enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    c.assign(tps)
    deadline = time.monotonic() + 30
    while True:
        try:
            c.commit({tp: OffsetAndMetadata(0, "", -1) for tp in tps})
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    n = 0
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        n += 1
        c.commit({tp: OffsetAndMetadata(n, "", -1) for tp in tps})
    took = time.monotonic() - began
    c.close(autocommit=False)
    return n / took


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap-server", required=True)
    parser.add_argument("--consumers", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--commit-partitions", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    took = rebalance_time(args.bootstrap_server, args.consumers, args.partitions)
    print("rebalance: %d consumers joining a %d-partition topic: %.2f s"
          % (args.consumers, args.partitions, took))
    rate = commit_throughput(args.bootstrap_server, args.commit_partitions, args.seconds)
    print("commits: %.0f commits/s (%d partition(s) per commit, synchronous)"
          % (rate, args.commit_partitions))


if __name__ == "__main__":
    main()
