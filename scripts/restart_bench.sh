#!/usr/bin/env bash
# Benchmark: a broker restart at scale (benches/restart_scale.rs). Three
# brokers of this build (the integration tests' harness, with its own
# ZooKeeper), PARTITIONS partitions at replication factor 3; one broker is
# SIGKILLed and started again, then stopped with SIGTERM and started again.
# Prints a table: seconds to load the logs, to listen, to register, and to be
# back in every ISR. Nothing is asserted.
#
#   scripts/restart_bench.sh                       # 3,000 partitions
#   PARTITIONS=1000 RESTARTS=kill scripts/restart_bench.sh
#   RECOVERY_THREADS=2 scripts/restart_bench.sh    # num.recovery.threads.per.data.dir
#   BENCH_PROFILE=dev scripts/restart_bench.sh     # debug build (as the tests run)
#
# BENCH_PROFILE picks the cargo profile (default: cargo bench's, optimized).
# SLUICE_TEST_KEEP=1 keeps the brokers' files under target/tmp.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SLUICE_ROOT"

export PARTITIONS=${PARTITIONS:-3000}
case "$PARTITIONS" in '' | *[!0-9]*) die "PARTITIONS must be a number" ;; esac
profile=()
if [ -n "${BENCH_PROFILE:-}" ]; then profile=(--profile "$BENCH_PROFILE"); fi

step "Installing what is missing (ZooKeeper)"
ensure_zookeeper
info "ok"

step "Restart at scale: $PARTITIONS partitions, RF 3, restarts ${RESTARTS:-kill,term}"
cargo bench "${profile[@]}" --bench restart_scale
