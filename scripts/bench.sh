#!/usr/bin/env bash
# Benchmark: Sluice next to librdkafka's in-process mock cluster.
#
#   scripts/bench.sh [EXTRA ARGS for the throughput runs]...
#   BENCH_RECORDS=50000 scripts/bench.sh --acks all --partitions 4
#
# Takes a few minutes (the first time longer: it builds librdkafka and the
# release binary). It:
#  1. installs ZooKeeper (Debian package `zookeeper`) and the C/C++ tools the
#     bundled librdkafka build needs, when missing (apt-get, as root or sudo);
#  2. starts a throw-away ZooKeeper on a free port (temp dataDir);
#  3. builds target/release/sluice (or takes BENCH_SLUICE_BIN) and starts
#     one broker (temp log dir, free port, chroot /sluice-bench);
#  4. runs benches/throughput.rs against it with 100-byte and with 1 KiB
#     records, BENCH_RECORDS records each (default 200000), plus any extra
#     arguments given to this script (e.g. --acks all, --partitions 4; not
#     --topic: each run needs a new topic, and gets a unique one by default);
#     each topic is read back BENCH_CONSUME_RUNS times (default 3: the Fetch
#     table, consume GB/s per run with min/median/max), and the broker's
#     utime+stime around the produce and the consume phases gives the Cost
#     table (broker CPU seconds per GB in and out, next to the mock's rates);
#     with BENCH_CONSOLE=1, runs the same again while a poller asks the
#     broker's web console what an open page asks (/api/v1/stats every
#     second, /api/v1/topics every 2 s, /api/v1/cluster every 5 s), and
#     prints both tables: the console's effect on produce, fetch and cost;
#     and after step 5, the idle broker's CPU and RSS over 30 s unpolled
#     and 30 s polled (the console's own cost);
#  5. stops that broker and starts a fresh one (new log dir, chroot
#     /sluice-bench-idle, so nothing left from producing counts), creates a
#     topic with BENCH_IDLE_PARTITIONS partitions (default 100) and reads the
#     broker's VmRSS/VmHWM;
#  6. with BENCH_CLUSTER=1 (or =only, which skips steps 3-5): starts three
#     brokers (ids 1-3, chroot /sluice-bench-cluster,
#     zookeeper.session.timeout.ms=BENCH_ZK_SESSION_MS, default 6000); runs
#     the bench with --latency: produce latency p50/p99/p99.9 and the
#     achieved rate at the fixed offered rates BENCH_LATENCY_RATES (default
#     10000,100000 records/s, BENCH_LATENCY_SECS each, default 5) on a topic
#     with 3 partitions and RF 3, acks=all, linger.ms=1, next to the mock
#     cluster; then with --cluster: RF=1 vs RF=3 with acks=1, acks=all, and
#     acks=all from an idempotent producer (BENCH_CLUSTER_RECORDS records of
#     100 bytes each, default BENCH_RECORDS, with the three brokers' CPU per
#     GB), then the time from SIGKILL of a partition leader to the first
#     acknowledged produce;
#  7. runs the in-process benches (benches/produce_path.rs: the CPU cost of
#     checking a produced batch and its records per codec;
#     benches/fetch_encode.rs: encoding a Fetch response by copying vs by
#     referencing the records), unless BENCH_CLUSTER=only;
#  8. with BENCH_SCALE=N (a partition count, e.g. 10000): runs
#     scripts/partition_bench.sh --partitions N (its own three brokers and
#     ZooKeeper: creation, controller failover, leader moves, controlled
#     shutdown and RSS at N partitions; several minutes at 10,000);
#  9. prints all the tables again at the end, and removes everything it
#     started or wrote (BENCH_KEEP=1 keeps the temp folder with the logs).
#
# BENCH_SLUICE_BIN=path runs that broker binary instead of building
# target/release/sluice (to compare builds: copy each binary away first).
#
# Steer by the Sluice/mock ratios, not the absolute figures: on a shared
# two-core machine those drift from run to run (see benches/throughput.rs).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SLUICE_ROOT"

RECORDS=${BENCH_RECORDS:-200000}
IDLE_PARTITIONS=${BENCH_IDLE_PARTITIONS:-100}
case "$RECORDS$IDLE_PARTITIONS" in *[!0-9]*) die "BENCH_RECORDS and BENCH_IDLE_PARTITIONS must be numbers" ;; esac
CLUSTER=${BENCH_CLUSTER:-0}
SLUICE_BIN=${BENCH_SLUICE_BIN:-target/release/sluice}
CLUSTER_RECORDS=${BENCH_CLUSTER_RECORDS:-$RECORDS}
ZK_SESSION_MS=${BENCH_ZK_SESSION_MS:-6000}
CONSUME_RUNS=${BENCH_CONSUME_RUNS:-3}
LATENCY_RATES=${BENCH_LATENCY_RATES:-10000,100000}
LATENCY_SECS=${BENCH_LATENCY_SECS:-5}
CONSOLE=${BENCH_CONSOLE:-0}
case "$CONSOLE" in 0 | 1) ;; *) die "BENCH_CONSOLE must be 0 or 1" ;; esac
case "$CLUSTER" in 0 | 1 | only) ;; *) die "BENCH_CLUSTER must be 0, 1 or only" ;; esac
case "$CLUSTER_RECORDS$ZK_SESSION_MS$CONSUME_RUNS$LATENCY_SECS" in *[!0-9]*) die "BENCH_CLUSTER_RECORDS, BENCH_ZK_SESSION_MS, BENCH_CONSUME_RUNS and BENCH_LATENCY_SECS must be numbers" ;; esac
case "$LATENCY_RATES" in *[!0-9,]* | "" | ,* | *, | *,,*) die "BENCH_LATENCY_RATES must be numbers separated by commas" ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
zk_pid=
broker_pid=
broker_log=
cluster_pids=()

# stop_pid PID NAME: SIGTERM, up to 20 s for a clean exit, then SIGKILL.
stop_pid() {
  local pid=$1 name=$2 _
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    info "$name (pid $pid) still running after 20 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

stop_broker() {
  [ -n "$broker_pid" ] && stop_pid "$broker_pid" broker
  broker_pid=
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ] && [ -n "$broker_log" ] && [ -f "$broker_log" ]; then
    printf '\n--- last lines of %s ---\n' "$broker_log" >&2
    tail -n 40 "$broker_log" >&2 || true
  fi
  if [ -n "${poller_pid:-}" ]; then kill "$poller_pid" 2>/dev/null || true; fi
  stop_broker
  local p
  for p in "${cluster_pids[@]}"; do
    # The failover measurement SIGKILLs one: reap it rather than wait on a zombie.
    if [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" = Z ]; then
      wait "$p" 2>/dev/null || true
    else
      stop_pid "$p" "cluster broker"
    fi
  done
  [ -n "$zk_pid" ] && stop_pid "$zk_pid" ZooKeeper
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    info "kept $work"
  else
    rm -rf "$work"
  fi
  [ "$rc" -eq 0 ] || printf '\n\033[1;31mscripts/bench.sh FAILED (exit %s)\033[0m\n' "$rc" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port: a port on 127.0.0.1 that nothing listens on right now.
free_port() {
  local p _
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    port_open 127.0.0.1 "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}

# start_broker NAME CHROOT: starts target/release/sluice with its own log
# dir, port and HTTP listener (metrics and console); sets broker_pid,
# broker_port, broker_http_port and broker_log.
start_broker() {
  local name=$1 chroot=$2
  broker_port=$(free_port)
  broker_http_port=$(free_port)
  broker_log="$work/$name.log"
  cat >"$work/$name.properties" <<EOF
broker.id=0
listeners=PLAINTEXT://127.0.0.1:$broker_port
log.dirs=$work/$name-logs
zookeeper.connect=127.0.0.1:$zk_port$chroot
metrics.listener=127.0.0.1:$broker_http_port
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
EOF
  # setsid: Ctrl-C reaches only this script, which then stops the broker.
  setsid "$SLUICE_BIN" broker "$work/$name.properties" >"$broker_log" 2>&1 </dev/null &
  broker_pid=$!
  wait_for_port 127.0.0.1 "$broker_port" 60 "$broker_pid" || die "the broker did not start"
  info "broker running: pid $broker_pid, 127.0.0.1:$broker_port, chroot $chroot, log $broker_log"
}

# http_get PORT PATH: one GET to 127.0.0.1:PORT (bash's /dev/tcp, no curl
# needed), the answer thrown away.
http_get() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 0
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3
  cat <&3 >/dev/null || true
  exec 3>&-
}

# throughput_run [EXTRA ARGS]: the throughput, fetch and cost tables
# against the running broker, then the load.
throughput_run() {
  cargo bench -q --bench throughput -- --bootstrap "127.0.0.1:$broker_port" \
    --records "$RECORDS" --size 100,1024 --consume-runs "$CONSUME_RUNS" \
    --cpu-pids "$broker_pid" "$@"
  echo "Load after measuring: $(uptime | sed 's/.*load/load/')"
  echo
}

# cpu_ms PID: the process's utime+stime so far, in milliseconds.
cpu_ms() {
  local ticks
  ticks=$(awk '{print $14 + $15}' "/proc/$1/stat")
  echo $((ticks * 1000 / $(getconf CLK_TCK)))
}

# rss_mib PID: VmRSS in MiB (one decimal).
rss_mib() {
  awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"
}

# console_idle_cost SECONDS: the idle broker's CPU and RSS over SECONDS
# unpolled, then over SECONDS with the console polled; prints a table.
console_idle_cost() {
  local secs=$1 c0 c1 c2 r0 r1 r2
  c0=$(cpu_ms "$broker_pid"); r0=$(rss_mib "$broker_pid")
  sleep "$secs"
  c1=$(cpu_ms "$broker_pid"); r1=$(rss_mib "$broker_pid")
  console_poller "$broker_http_port" &
  poller_pid=$!
  sleep "$secs"
  kill "$poller_pid" 2>/dev/null || true
  wait "$poller_pid" 2>/dev/null || true
  poller_pid=
  c2=$(cpu_ms "$broker_pid"); r2=$(rss_mib "$broker_pid")
  echo "## The web console's own cost (idle broker, $IDLE_PARTITIONS partitions, ${secs} s each)"
  echo
  echo "| console | broker CPU ms | VmRSS MiB at start | VmRSS MiB at end |"
  echo "|---|---:|---:|---:|"
  echo "| closed | $((c1 - c0)) | $r0 | $r1 |"
  echo "| open (polled as its pages poll) | $((c2 - c1)) | $r1 | $r2 |"
  echo
}

# console_poller PORT: asks the console what an open page asks, until killed.
console_poller() {
  local tick=0
  while true; do
    http_get "$1" /api/v1/stats
    if [ $((tick % 2)) = 0 ]; then http_get "$1" /api/v1/topics; fi
    if [ $((tick % 5)) = 0 ]; then http_get "$1" /api/v1/cluster; fi
    tick=$((tick + 1))
    sleep 1
  done
}

# start_cluster_broker ID: starts broker ID of the three-broker cluster
# (chroot /sluice-bench-cluster); appends its pid to cluster_pids, its
# address to cluster_bootstrap and ID=PID to failover_pids; sets broker_log
# for error reports.
start_cluster_broker() {
  local id=$1 port pid
  port=$(free_port)
  broker_log="$work/cluster-$id.log"
  cat >"$work/cluster-$id.properties" <<EOF
broker.id=$id
listeners=PLAINTEXT://127.0.0.1:$port
log.dirs=$work/cluster-$id-logs
zookeeper.connect=127.0.0.1:$zk_port/sluice-bench-cluster
zookeeper.session.timeout.ms=$ZK_SESSION_MS
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
auto.leader.rebalance.enable=false
group.initial.rebalance.delay.ms=0
EOF
  setsid "$SLUICE_BIN" broker "$work/cluster-$id.properties" >"$broker_log" 2>&1 </dev/null &
  pid=$!
  cluster_pids+=("$pid")
  wait_for_port 127.0.0.1 "$port" 60 "$pid" || die "cluster broker $id did not start"
  cluster_bootstrap="${cluster_bootstrap:+$cluster_bootstrap,}127.0.0.1:$port"
  failover_pids="${failover_pids:+$failover_pids,}$id=$pid"
  info "cluster broker $id running: pid $pid, 127.0.0.1:$port, log $broker_log"
}

step "Installing what is missing (ZooKeeper, C/C++ build tools for librdkafka)"
ensure_zookeeper
pkgs=()
{ command -v cc && command -v c++ && command -v make && command -v ar; } >/dev/null 2>&1 || pkgs+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || pkgs+=(pkg-config)
if [ ${#pkgs[@]} -gt 0 ]; then apt_install "${pkgs[@]}"; fi
info "ok"

step "Starting ZooKeeper"
zk_port=$(free_port)
mkdir -p "$work/zk-data"
cat >"$work/zoo.cfg" <<EOF
tickTime=2000
dataDir=$work/zk-data
clientPort=$zk_port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
EOF
setsid scripts/zookeeper.sh --no-install "$work/zoo.cfg" >"$work/zookeeper.log" 2>&1 </dev/null &
zk_pid=$!
if ! wait_for_port 127.0.0.1 "$zk_port" 60 "$zk_pid"; then
  tail -n 30 "$work/zookeeper.log" >&2
  die "ZooKeeper did not start"
fi
info "ZooKeeper running: pid $zk_pid, 127.0.0.1:$zk_port, log $work/zookeeper.log"

step "Building (cargo build --release, then the bench)"
if [ -n "${BENCH_SLUICE_BIN:-}" ]; then
  [ -x "$SLUICE_BIN" ] || die "BENCH_SLUICE_BIN=$SLUICE_BIN is not an executable"
  info "broker binary: $SLUICE_BIN (not built)"
else
  cargo build --release
fi
cargo bench --no-run --bench throughput --bench produce_path --bench fetch_encode

results=()
if [ "$CLUSTER" != only ]; then
  step "Starting a broker"
  start_broker broker /sluice-bench

  step "Throughput, fetch and cost: $RECORDS records of 100 and of 1024 bytes $*"
  out="$work/throughput.md"
  throughput_run "$@" | tee "$out"
  results+=("$out")

  if [ "$CONSOLE" = 1 ]; then
    step "The same with the web console open (polled as its pages poll)"
    console_poller "$broker_http_port" &
    poller_pid=$!
    out="$work/throughput-console.md"
    {
      echo "With the web console polled (stats 1/s, topics 1/2 s, cluster 1/5 s):"
      echo
      throughput_run "$@"
    } | tee "$out"
    kill "$poller_pid" 2>/dev/null || true
    wait "$poller_pid" 2>/dev/null || true
    results+=("$out")
  fi

  step "Idle memory: fresh broker, one topic with $IDLE_PARTITIONS partitions"
  stop_broker
  start_broker broker-idle /sluice-bench-idle
  out="$work/idle-rss.md"
  cargo bench -q --bench throughput -- --bootstrap "127.0.0.1:$broker_port" \
    --rss-pid "$broker_pid" --idle-partitions "$IDLE_PARTITIONS" | tee "$out"
  results+=("$out")
  if [ "$CONSOLE" = 1 ]; then
    out="$work/console-cost.md"
    console_idle_cost 30 | tee "$out"
    results+=("$out")
  fi
  stop_broker
fi

if [ "$CLUSTER" != 0 ]; then
  step "Three-broker cluster: latency at fixed rates, RF=1 vs RF=3, acks=1 vs acks=all, leader failover"
  cluster_bootstrap=
  failover_pids=
  for id in 1 2 3; do start_cluster_broker "$id"; done
  out="$work/latency.md"
  # Before --cluster, whose failover measurement kills a broker.
  {
    cargo bench -q --bench throughput -- --bootstrap "$cluster_bootstrap" \
      --latency "$LATENCY_RATES" --latency-secs "$LATENCY_SECS"
    echo "Load after measuring: $(uptime | sed 's/.*load/load/')"
    echo
  } | tee "$out"
  results+=("$out")
  out="$work/cluster.md"
  cluster_cpu_pids=$(IFS=,; echo "${cluster_pids[*]}")
  {
    cargo bench -q --bench throughput -- --bootstrap "$cluster_bootstrap" --cluster \
      --records "$CLUSTER_RECORDS" --size 100 --failover-pids "$failover_pids" \
      --cpu-pids "$cluster_cpu_pids"
    echo "Brokers: zookeeper.session.timeout.ms=$ZK_SESSION_MS, other settings at their defaults."
    echo
  } | tee "$out"
  results+=("$out")
fi

if [ "$CLUSTER" != only ]; then
  step "In process: checking produced batches, encoding Fetch responses"
  out="$work/in-process.md"
  {
    cargo bench -q --bench produce_path
    cargo bench -q --bench fetch_encode
  } | tee "$out"
  results+=("$out")
fi

SCALE=${BENCH_SCALE:-0}
case "$SCALE" in *[!0-9]*) die "BENCH_SCALE must be a partition count (0: skip)" ;; esac
if [ "$SCALE" -gt 0 ]; then
  step "Partitions at scale: $SCALE partitions"
  out="$work/scale.md"
  scripts/partition_bench.sh --partitions "$SCALE" | tee "$out"
  results+=("$out")
fi

step "Results"
for f in "${results[@]}"; do
  cat "$f"
done
