#!/usr/bin/env bash
# Benchmark: partitions at scale (benches/partition_scale.rs). Three brokers
# of this build (the integration tests' harness, with its own throw-away
# ZooKeeper), N partitions at replication factor 3 (default 10,000): time to
# create them, a controller failover (SIGKILL), leader moves off a SIGKILLed
# broker, a controlled shutdown (SIGTERM), and each broker's RSS. Prints
# markdown tables with the load average beside each step. Nothing is asserted.
#
#   scripts/partition_bench.sh                       # 10,000 partitions
#   scripts/partition_bench.sh --partitions 1000
#   PARTITIONS=3000 scripts/partition_bench.sh
#   BENCH_PROFILE=dev scripts/partition_bench.sh --partitions 300   # debug build, a quick smoke
#
# BENCH_PROFILE picks the cargo profile (default: cargo bench's, optimized
# like --release). SLUICE_TEST_KEEP=1 keeps the brokers' files under target/tmp.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SLUICE_ROOT"

partitions=${PARTITIONS:-10000}
while [ $# -gt 0 ]; do
  case "$1" in
    --partitions) [ $# -ge 2 ] || die "--partitions needs a number"; partitions=$2; shift 2 ;;
    --partitions=*) partitions=${1#--partitions=}; shift ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
case "$partitions" in '' | *[!0-9]*) die "--partitions must be a number" ;; esac
export PARTITIONS=$partitions
profile=()
if [ -n "${BENCH_PROFILE:-}" ]; then profile=(--profile "$BENCH_PROFILE"); fi

step "Installing what is missing (ZooKeeper)"
ensure_zookeeper
info "ok"

step "Building (cargo bench ${profile[*]:-(optimized)})"
cargo bench "${profile[@]}" --bench partition_scale --no-run

step "Partitions at scale: $PARTITIONS partitions, RF 3, 3 brokers (load: $(cut -d' ' -f1-3 /proc/loadavg))"
cargo bench "${profile[@]}" --bench partition_scale -- --partitions "$PARTITIONS"
