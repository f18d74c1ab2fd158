#!/usr/bin/env bash
# Quick start: one ZooKeeper and a three-broker Sluice cluster on this machine.
#
#   scripts/quickstart.sh [--override key=value]...
#
# Installs ZooKeeper and kcat when missing, starts ZooKeeper from
# config/zookeeper.properties in the background (log: data/zookeeper.log),
# builds the release binary and starts three brokers from
# config/server-1.properties, server-2.properties and server-3.properties
# (ports 9092, 9093, 9094; logs: data/broker-<id>.log). Extra arguments go to
# every broker. It creates no topic. On Ctrl-C it stops the brokers (SIGTERM,
# all at once, then waits for their clean controlled shutdown) and then
# ZooKeeper. A ZooKeeper already answering on its port is reused and left
# running.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SLUICE_ROOT"

zk_cfg=config/zookeeper.properties
broker_cfgs=(config/server-1.properties config/server-2.properties config/server-3.properties)
for f in "$zk_cfg" "${broker_cfgs[@]}"; do
  [ -f "$f" ] || die "missing $f"
done

zk_port=$(prop_value "$zk_cfg" clientPort)
zk_port=${zk_port:-2181}
zk_connect=$(prop_value "${broker_cfgs[0]}" zookeeper.connect)
zk_chroot=
case "$zk_connect" in */*) zk_chroot="/${zk_connect#*/}" ;; esac

# listener_port FILE / listener_host FILE: where the broker of FILE listens
# (its first listener; Kafka's default port 9092 when none is set).
listener_port() {
  local l port
  l=$(prop_value "$1" listeners)
  port=${l##*:}
  case "$port" in '' | *[!0-9]*) port=9092 ;; esac
  printf '%s\n' "$port"
}
listener_host() {
  local l host
  l=$(prop_value "$1" listeners)
  host=${l#*://}
  host=${host%:*}
  printf '%s\n' "${host:-localhost}"
}

zk_pid=
broker_pids=()
stop_all() {
  trap - INT TERM EXIT
  local live=() pid
  for pid in "${broker_pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && live+=("$pid")
  done
  if [ ${#live[@]} -gt 0 ]; then
    step "Stopping the brokers (SIGTERM, waiting for their clean shutdown)"
    kill -TERM "${live[@]}" 2>/dev/null || true
    for pid in "${live[@]}"; do
      if wait "$pid" 2>/dev/null; then info "broker pid $pid exited 0"; else info "broker pid $pid exited with status $?"; fi
    done
  fi
  if [ -n "$zk_pid" ] && kill -0 "$zk_pid" 2>/dev/null; then
    step "Stopping ZooKeeper"
    kill -TERM "$zk_pid" 2>/dev/null || true
    wait "$zk_pid" 2>/dev/null || true
  fi
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap stop_all EXIT

step "Installing what is missing (ZooKeeper, kcat)"
ensure_zookeeper
command -v kcat >/dev/null 2>&1 || apt_install kcat
info "ok"

for f in "${broker_cfgs[@]}"; do
  port=$(listener_port "$f")
  port_open "$(listener_host "$f")" "$port" && die "port $port ($f) is already taken; is another broker running?"
done

step "Starting ZooKeeper on port $zk_port"
mkdir -p data
if zk_alive 127.0.0.1 "$zk_port"; then
  info "a ZooKeeper already answers on port $zk_port; using it (it stays running)"
elif port_open 127.0.0.1 "$zk_port"; then
  die "port $zk_port is taken by something that is not ZooKeeper"
else
  # setsid: its own session, so Ctrl-C reaches only this script, which
  # then stops the brokers before ZooKeeper.
  setsid scripts/zookeeper.sh "$zk_cfg" >data/zookeeper.log 2>&1 </dev/null &
  zk_pid=$!
  if ! wait_for_zk 127.0.0.1 "$zk_port" 60 "$zk_pid"; then
    tail -n 30 data/zookeeper.log >&2
    die "ZooKeeper did not start; full log: data/zookeeper.log"
  fi
  info "ZooKeeper running (pid $zk_pid), log: data/zookeeper.log"
fi

step "Building sluice (cargo build --release)"
cargo build --release

ports=()
for f in "${broker_cfgs[@]}"; do
  id=$(prop_value "$f" broker.id)
  step "Starting broker $id: target/release/sluice broker $f $*"
  setsid target/release/sluice broker "$f" "$@" >"data/broker-$id.log" 2>&1 </dev/null &
  broker_pids+=("$!")
  ports+=("$(listener_port "$f")")
done
for i in "${!broker_cfgs[@]}"; do
  f=${broker_cfgs[$i]}
  if ! wait_for_port "$(listener_host "$f")" "${ports[$i]}" 60 "${broker_pids[$i]}"; then
    id=$(prop_value "$f" broker.id)
    tail -n 30 "data/broker-$id.log" >&2
    die "broker $id did not start; full log: data/broker-$id.log"
  fi
  info "broker $(prop_value "$f" broker.id) listening on port ${ports[$i]} (pid ${broker_pids[$i]}), log: data/broker-$(prop_value "$f" broker.id).log"
done

bootstrap=$(printf 'localhost:%s,' "${ports[@]}")
bootstrap=${bootstrap%,}
bold=$(printf '\033[1m')
plain=$(printf '\033[0m')
cat <<MSG

${bold}A three-broker Sluice cluster is running on $bootstrap${plain}
(ZooKeeper on localhost:$zk_port). No topic was created. In another terminal:

  Create a replicated topic:
    target/release/sluice topics --bootstrap-server localhost:${ports[0]} --create --topic test --partitions 3 --replication-factor 3
  Produce (one message per line, Ctrl-D to finish):
    kcat -b $bootstrap -t test -P
  Consume from the beginning:
    kcat -b $bootstrap -t test -C -e
  Cluster metadata (brokers, topics, leaders, ISR):
    kcat -b $bootstrap -L
  Prometheus metrics (metrics.listener of each broker):
$(for f in "${broker_cfgs[@]}"; do m=$(prop_value "$f" metrics.listener); [ -n "$m" ] && printf '    curl -s %s/metrics\n' "${m%/}"; done)
  What the brokers wrote to ZooKeeper:
    $ZK_CLI -server localhost:$zk_port ls $zk_chroot/brokers/ids

Press Ctrl-C here to stop the brokers and then ZooKeeper.

MSG

# Wait until any broker exits (or Ctrl-C arrives).
set +e
wait -n "${broker_pids[@]}"
status=$?
set -e
echo "A broker exited with status $status; stopping the rest."
exit "$status"
