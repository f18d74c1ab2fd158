#!/usr/bin/env bash
# Runs a ZooKeeper server in the foreground (like Kafka's
# zookeeper-server-start.sh), from Debian's `zookeeper` package.
#
#   scripts/zookeeper.sh [--no-install] [CONFIG]
#
# CONFIG is a zoo.cfg-style properties file (default config/zookeeper.properties).
# The package is installed when missing, unless --no-install is given (then a
# missing package is an error). Logs go to stdout/stderr. The process execs
# into java, so its pid is the server's: SIGTERM or Ctrl-C stops it.
# Extra JVM options: ZK_JVM_OPTS (default: small heap, quick start).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install=1
if [ "${1:-}" = --no-install ]; then install=0; shift; fi
cfg=${1:-$SLUICE_ROOT/config/zookeeper.properties}
[ $# -le 1 ] || die "usage: scripts/zookeeper.sh [--no-install] [CONFIG]"
[ -f "$cfg" ] || die "ZooKeeper config not found: $cfg"

if ! zookeeper_installed; then
  [ "$install" -eq 1 ] || die "ZooKeeper is not installed; run scripts/test.sh (or: apt-get install -y zookeeper)"
  ensure_zookeeper
fi

# QuorumPeerMain wants an explicit path; make a relative one absolute.
case "$cfg" in /*) ;; *) cfg="$PWD/$cfg" ;; esac

# shellcheck disable=SC2086 # ZK_JVM_OPTS is a list of options
exec java $ZK_JVM_OPTS \
  -Dzookeeper.root.logger="${ZK_LOG_LEVEL:-INFO},CONSOLE" \
  -Dzookeeper.log.dir="${TMPDIR:-/tmp}" \
  -cp "$(zk_classpath)" \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfg"
