#!/usr/bin/env bash
# Runs the fault-injection suite (tests/faults.rs) for as long as you like
# and prints its report: faults by kind with recovery times (p50 / max), and
# the count of every check (acknowledged records lost, duplicated,
# reordered, divergent replicas, backwards commits, coordinator overlaps...).
#
#   scripts/faults.sh [--faults N] [--seed S] [--kinds K1,K2,...] [--continue] [--keep]
#
#   --faults N   faults to inject, one at a time (default 100; CI runs 10)
#   --seed S     the RNG seed (default: a random one, printed). The same seed
#                gives the same schedule of fault kinds, targets and durations.
#   --kinds ...  draw only these kinds (default all): kill-leader,
#                kill-controller, kill-broker, pause-broker, terminate-broker,
#                zk-cut, zk-cut-after-isr-write, zk-cut-after-controller-multi,
#                zk-restart, slow-link
#   --continue   go on injecting after a fault the cluster did not recover
#                from within 60 s (by default the run stops there and checks)
#   --keep       keep every broker's log and data under target/tmp even when
#                the run passes (a failing run always keeps them)
#
# It builds what it needs (the `sluice` binary and the test, debug profile,
# in the usual target/), then runs the one test of tests/faults.rs with
# SLUICE_FAULTS / SLUICE_FAULT_SEED / SLUICE_FAULT_KINDS set. The nemesis's
# timeline is shown as it happens; the whole output goes to
# target/tmp/faults-run-<seed>.log, the report (markdown, with the timeline)
# to target/tmp/faults-<seed>-<pid>.md.
# Roughly 15 s per fault on a 2-core machine.
#
# Exit status: 0 when every guarantee held, else the test's failure.
# Needs ZooKeeper (Debian's package) and a C toolchain for librdkafka:
# run scripts/test.sh once, or this installs ZooKeeper itself.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SLUICE_ROOT"

faults=100
seed=""
kinds=""
keep=0
keep_going=0
while [ $# -gt 0 ]; do
  case "$1" in
    --faults) [ $# -ge 2 ] || die "--faults needs a number"; faults=$2; shift 2 ;;
    --seed) [ $# -ge 2 ] || die "--seed needs a number"; seed=$2; shift 2 ;;
    --kinds) [ $# -ge 2 ] || die "--kinds needs a list"; kinds=$2; shift 2 ;;
    --continue) keep_going=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$faults" =~ ^[0-9]+$ ]] || die "--faults: not a number: $faults"
if [ -z "$seed" ]; then
  seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
fi
[[ "$seed" =~ ^[0-9]+$ ]] || die "--seed: not a number: $seed"

zookeeper_installed || ensure_zookeeper

step "Building the broker and the suite"
cargo test --quiet --no-run --test faults

mkdir -p target/tmp
log="target/tmp/faults-run-$seed.log"
step "Running $faults faults with seed $seed (log: $log)"
export SLUICE_FAULTS="$faults" SLUICE_FAULT_SEED="$seed" SLUICE_FAULT_KINDS="$kinds"
export SLUICE_FAULT_CONTINUE="$keep_going"
[ "$keep" -eq 1 ] && export SLUICE_TEST_KEEP=1
set +e
cargo test --quiet --test faults a_seeded_run_of_faults_keeps_every_guarantee \
  -- --exact --nocapture --test-threads=1 2>&1 |
  tee "$log" | grep --line-buffered '^faults: ' | sed -u 's/^faults: /  /'
rc=${PIPESTATUS[0]}
set -e

report=$(grep -o 'report and timeline: .*' "$log" | tail -n 1 | sed 's/^report and timeline: //' || true)
step "Report (seed $seed)"
if [ -n "$report" ] && [ -f "$report" ]; then
  sed '/^Timeline:/,$d' "$report"
  info "full report with the timeline: $report"
else
  info "no report was written; the end of the log:"
  tail -n 60 "$log"
fi
info "test output: $log"
[ "$rc" -eq 0 ] || die "the run broke a guarantee or did not finish (exit $rc); broker logs are kept under target/tmp (see $log)"
printf '\nEvery guarantee held (seed %s, %s faults).\n' "$seed" "$faults"
