#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every check CI runs.
#
#   scripts/test.sh [ARGS for cargo test]...     e.g. scripts/test.sh --test harness
#
# 1. Debian packages: zookeeper (Java comes with it), kcat, the C/C++
#    toolchain that rdkafka's bundled librdkafka build needs, and chromium
#    with chromium-driver (the web console's browser test).
# 2. A Python venv at .venv with kafka-python, confluent-kafka and selenium (pinned),
#    exported to the tests as SLUICE_TEST_PYTHON, and kafka-python 3.0.12 in
#    .venv/kafka-python-3.0.12 (SLUICE_TEST_KAFKA_PYTHON3).
# 3. cargo fmt --check, cargo clippy --all-targets -D warnings, cargo test.
# Stops at the first failing step with a non-zero exit.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SLUICE_ROOT"

# Pinned Python client versions (kafka-python: the last 2.x line).
PY_PACKAGES=(kafka-python==2.3.3 confluent-kafka==2.16.1 PyYAML==6.0.3 selenium==4.51.0)
VENV="$SLUICE_ROOT/.venv"

trap 'rc=$?; [ $rc -eq 0 ] || printf "\n\033[1;31mscripts/test.sh FAILED (exit %s)\033[0m\n" "$rc" >&2' EXIT

step "[1/5] System packages (ZooKeeper, kcat, C/C++ build tools for librdkafka, Chromium)"
# librdkafka is built by rdkafka-sys with its own ./configure + make: it needs
# bash, a C and a C++ compiler (configure fails without c++), make and ar;
# zlib comes from the libz-sys crate (system zlib1g-dev when present, else
# built from its bundled source), zstd from the zstd-sys crate (bundled).
pkgs=()
zookeeper_installed || pkgs+=(zookeeper)
command -v kcat >/dev/null 2>&1 || pkgs+=(kcat)
{ command -v cc && command -v c++ && command -v make && command -v ar; } >/dev/null 2>&1 || pkgs+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || pkgs+=(pkg-config)
[ -f /usr/include/zlib.h ] || pkgs+=(zlib1g-dev)
command -v python3 >/dev/null 2>&1 || pkgs+=(python3 python3-venv)
[ -x /usr/bin/chromium ] || pkgs+=(chromium)
[ -x /usr/bin/chromedriver ] || pkgs+=(chromium-driver)
if [ ${#pkgs[@]} -gt 0 ]; then apt_install "${pkgs[@]}"; fi
zookeeper_installed || die "ZooKeeper still missing after install"
info "java: $(java -version 2>&1 | head -n 1)"
info "zookeeper: $(basename "$(readlink -f "$ZK_JAR")") ($(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo '?'))"
info "kcat: $(kcat -V 2>&1 | head -n 1)"
info "cc: $(cc --version | head -n 1)"
info "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"

step "[2/5] Python venv with ${PY_PACKAGES[*]}"
venv_ok() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; }
if ! venv_ok; then
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    # Debian's own python3 needs python3-venv for `-m venv` (ensurepip).
    rm -rf "$VENV"
    apt_install python3-venv
    python3 -m venv "$VENV" || die "python3 -m venv failed"
  fi
  info "created $VENV"
fi
# Skip pip when the pinned versions are already there: reruns stay fast.
if "$VENV/bin/python" - "${PY_PACKAGES[@]}" <<'PY'; then
import sys
from importlib.metadata import version, PackageNotFoundError
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
  info "already installed"
else
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${PY_PACKAGES[@]}"
fi
# kafka-python 3.0.12 beside the pinned 2.x, for the one test that shows
# its group-join bug (tests/group_coordination/settle.rs).
KP3="$VENV/kafka-python-3.0.12"
if [ ! -d "$KP3/kafka_python-3.0.12.dist-info" ]; then
  rm -rf "$KP3"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps --target "$KP3" kafka-python==3.0.12
fi
export SLUICE_TEST_KAFKA_PYTHON3="$KP3"
"$VENV/bin/python" -c 'import kafka, confluent_kafka, yaml, selenium; print("    kafka-python", kafka.__version__, "/ PyYAML", yaml.__version__, "/ confluent-kafka", confluent_kafka.__version__, "librdkafka", confluent_kafka.libversion()[0], "/ selenium", selenium.__version__)'
export SLUICE_TEST_PYTHON="$VENV/bin/python"

step "[3/5] cargo fmt --check"
cargo fmt --version >/dev/null 2>&1 || die "rustfmt is missing: rustup component add rustfmt"
cargo fmt --all --check

step "[4/5] cargo clippy --all-targets -- -D warnings"
cargo clippy --version >/dev/null 2>&1 || die "clippy is missing: rustup component add clippy"
cargo clippy --all-targets -- -D warnings

step "[5/5] cargo test $*"
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
cargo test "$@"

step "All checks passed"
