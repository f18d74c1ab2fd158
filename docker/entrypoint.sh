#!/bin/sh
# Starts `sluice broker` from $SLUICE_CONFIG (default
# /etc/sluice/server.properties) with one `--override key=value` per
# SLUICE_* environment variable, so a container is configured with env vars
# that map onto server.properties keys:
#
#   SLUICE_BROKER_ID=1                     broker.id=1
#   SLUICE_ZOOKEEPER_CONNECT=zk:2181       zookeeper.connect=zk:2181
#   SLUICE_LOG_RETENTION_HOURS=24          log.retention.hours=24
#   SLUICE_LOG_CLEANER__FOO=x              log.cleaner_foo=x   ("__" is "_")
#   SLUICE_SOME___KEY=x                    some-key=x          ("___" is "-")
#
# SLUICE_CONFIG and SLUICE_BIN (the binary, default `sluice` on PATH) are
# not keys. Arguments given to the container are passed on after the
# overrides. A bad key or value stops the broker with an error naming the
# key, exactly as in the file.
set -eu

config=${SLUICE_CONFIG:-/etc/sluice/server.properties}
bin=${SLUICE_BIN:-sluice}

# The property key for an environment variable name (without SLUICE_).
key_for() {
  printf '%s\n' "$1" | tr 'A-Z' 'a-z' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g'
}

# The container's own arguments come first in "$@"; append one
# `--override key=value` pair per variable, then rotate those arguments to
# the end. (POSIX sh has one array, "$@", so values with spaces stay whole.)
container_args=$#
for name in $(env | sed -n 's/^SLUICE_\([A-Za-z0-9_]*\)=.*/\1/p' | sort); do
  case "$name" in CONFIG | BIN) continue ;; esac
  eval "value=\${SLUICE_$name}"
  set -- "$@" --override "$(key_for "$name")=$value"
done
i=0
while [ "$i" -lt "$container_args" ]; do
  set -- "$@" "$1"
  shift
  i=$((i + 1))
done

echo "sluice-entrypoint: $bin broker $config $*" >&2
exec "$bin" broker "$config" "$@"
