#!/usr/bin/env bash
# Quick start: one ZooKeeper and one Sluice broker on this machine.
#
#   scripts/quickstart.sh [--override key=value]...
#
# Installs ZooKeeper and kcat when missing, starts ZooKeeper from
# config/zookeeper.properties in the background (log: data/zookeeper.log),
# builds the release binary, runs `sluice broker config/server.properties`
# in the foreground of this script (extra arguments are passed to the broker),
# and on Ctrl-C stops the broker (SIGTERM, then waits for its clean shutdown)
# and then ZooKeeper. A ZooKeeper already answering on its port is reused and
# left running.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SLUICE_ROOT"

zk_cfg=config/zookeeper.properties
broker_cfg=config/server.properties
[ -f "$zk_cfg" ] || die "missing $zk_cfg"
[ -f "$broker_cfg" ] || die "missing $broker_cfg"

zk_port=$(prop_value "$zk_cfg" clientPort)
zk_port=${zk_port:-2181}
listener=$(prop_value "$broker_cfg" listeners)
broker_port=${listener##*:}
broker_host=${listener#*://}
broker_host=${broker_host%:*}
broker_host=${broker_host:-localhost}
case "$broker_port" in '' | *[!0-9]*) broker_port=9092 ;; esac
zk_connect=$(prop_value "$broker_cfg" zookeeper.connect)
zk_chroot=
case "$zk_connect" in */*) zk_chroot="/${zk_connect#*/}" ;; esac

zk_pid=
broker_pid=
stop_all() {
  trap - INT TERM EXIT
  if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
    step "Stopping the broker (SIGTERM, waiting for a clean shutdown)"
    kill -TERM "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null && info "broker exited 0" || info "broker exited with status $?"
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

step "Starting ZooKeeper on port $zk_port"
mkdir -p data
if zk_alive 127.0.0.1 "$zk_port"; then
  info "a ZooKeeper already answers on port $zk_port; using it (it stays running)"
elif port_open 127.0.0.1 "$zk_port"; then
  die "port $zk_port is taken by something that is not ZooKeeper"
else
  # setsid: its own session, so Ctrl-C reaches only this script, which
  # then stops the broker before ZooKeeper.
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

step "Starting the broker: target/release/sluice broker $broker_cfg $*"
port_open "$broker_host" "$broker_port" && die "port $broker_port is already taken; is another broker running?"
setsid target/release/sluice broker "$broker_cfg" "$@" </dev/null &
broker_pid=$!
wait_for_port "$broker_host" "$broker_port" 60 "$broker_pid" || die "the broker did not start (its log is above)"

cat <<EOF

$(printf '\033[1m')Sluice is running on localhost:$broker_port$(printf '\033[0m') (ZooKeeper on localhost:$zk_port). In another terminal:

  Produce (one message per line, Ctrl-D to finish):
    kcat -b localhost:$broker_port -t test -P
  Consume from the beginning:
    kcat -b localhost:$broker_port -t test -C
  Cluster metadata:
    kcat -b localhost:$broker_port -L
  What the broker wrote to ZooKeeper:
    $ZK_CLI -server localhost:$zk_port ls $zk_chroot/brokers/ids

Press Ctrl-C here to stop the broker and then ZooKeeper.

EOF

set +e
wait "$broker_pid"
status=$?
set -e
broker_pid=
echo "The broker exited with status $status."
exit "$status"
