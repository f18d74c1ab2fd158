# Shared shell functions for scripts/*.sh. Source it, don't run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Everything here works on a fresh Debian 12 machine with only the Rust
# toolchain: as root it calls apt-get directly, otherwise through sudo.

# The repository root (the folder holding Cargo.toml).
SLUICE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian's ZooKeeper layout (package `zookeeper`, Java comes with it).
ZK_JAR=/usr/share/java/zookeeper.jar
ZK_CLI=/usr/share/zookeeper/bin/zkCli.sh

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*' (not root, and no sudo); run it as root yourself"
  fi
}

pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

# apt_install PKG...: installs the packages not installed yet. Runs
# `apt-get update` only when a package is unknown to the local lists, or when
# an install from stale lists fails.
apt_install() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${missing[*]}"
  info "installing with apt-get: ${missing[*]}"
  # Through env: sudo would drop an exported DEBIAN_FRONTEND.
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0 --no-install-recommends)
  local updated=0
  for p in "${missing[@]}"; do
    if ! apt-cache show "$p" >/dev/null 2>&1; then
      as_root apt-get update -q -o Dpkg::Use-Pty=0
      updated=1
      break
    fi
  done
  if ! as_root "${apt[@]}" install "${missing[@]}"; then
    [ "$updated" -eq 1 ] && die "apt-get install ${missing[*]} failed"
    info "install failed; refreshing package lists and trying again"
    as_root apt-get update -q -o Dpkg::Use-Pty=0
    as_root "${apt[@]}" install "${missing[@]}" || die "apt-get install ${missing[*]} failed"
  fi
}

zookeeper_installed() {
  [ -f "$ZK_JAR" ] && [ -x "$ZK_CLI" ] && command -v java >/dev/null 2>&1
}

ensure_zookeeper() {
  zookeeper_installed || apt_install zookeeper
  zookeeper_installed || die "package zookeeper installed but $ZK_JAR, $ZK_CLI or java is missing"
}

# The class path of a ZooKeeper server, as Debian's zkEnv.sh builds it
# (/etc/zookeeper/conf for log4j.properties, then zookeeper.jar, whose
# manifest Class-Path names its dependencies in /usr/share/java), plus the
# slf4j->log4j binding so the server logs to the console instead of nowhere.
zk_classpath() {
  local cp="/etc/zookeeper/conf:$ZK_JAR" j
  for j in /usr/share/java/slf4j-log4j12.jar /usr/share/java/log4j-1.2.jar; do
    [ -f "$j" ] && cp="$cp:$j"
  done
  printf '%s\n' "$cp"
}

# JVM options for a small test/dev ZooKeeper: little heap, quick start.
ZK_JVM_OPTS=${ZK_JVM_OPTS:--Xms32m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# zk_alive HOST PORT: true when a ZooKeeper server there answers `srvr` (the
# one four-letter word every server allows, whatever 4lw.commands.whitelist says).
zk_alive() {
  local reply
  reply=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf srvr >&3 && cat <&3' "$1" "$2" 2>/dev/null) || true
  [[ "$reply" == *"Zookeeper version"* ]]
}

# wait_for_port HOST PORT TIMEOUT_SECONDS [PID]: polls until the port accepts
# connections; fails early when PID (the process meant to open it) dies.
wait_for_port() {
  local host=$1 port=$2 timeout=$3 pid=${4:-}
  local deadline=$((SECONDS + timeout))
  until port_open "$host" "$port"; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "process $pid exited before $host:$port opened" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out after ${timeout}s waiting for $host:$port" >&2
      return 1
    fi
    sleep 0.1
  done
}

# wait_for_zk HOST PORT TIMEOUT_SECONDS [PID]: like wait_for_port, until the
# ZooKeeper there serves (answers srvr).
wait_for_zk() {
  local deadline=$((SECONDS + $3))
  wait_for_port "$@" || return 1
  until zk_alive "$1" "$2"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out after ${3}s waiting for ZooKeeper at $1:$2 to serve" >&2
      return 1
    fi
    sleep 0.1
  done
}

# prop_value FILE KEY: the value of KEY in a Java properties file (last wins).
prop_value() {
  sed -n "s/^[[:space:]]*$2[[:space:]]*[=:][[:space:]]*//p" "$1" | tail -n 1 | sed 's/[[:space:]]*$//'
}
