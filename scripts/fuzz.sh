#!/usr/bin/env bash
# Runs the fuzz test (tests/fuzz.rs) long, in a release build, and prints its
# tables: frames by mutation, per target (request header, request body,
# produce records shape, batch header and CRC, records in the batch) the
# frames in / refused / accepted, per API key the body refusals and decodes,
# panics, frames/s and seconds; then the same frames' kind over TCP into a
# real broker (served / closed the connection / stalled).
#
#   scripts/fuzz.sh [--frames N] [--broker-frames M] [--seed S]
#
#   --frames N         frames through the in-process target (default 10000000)
#   --broker-frames M  frames into a real broker over TCP (default 20000; a
#                      fifth as many controller-to-broker frames follow)
#   --seed S           the seed (default: a random one, printed); the same seed
#                      makes the same frames, so a panic is reproducible
#
# Exit status: 0 when no frame panicked and the broker still served clients.
# Needs ZooKeeper (Debian's package) and kcat: run scripts/test.sh once, or
# this installs ZooKeeper itself.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SLUICE_ROOT"

frames=10000000
broker_frames=20000
seed=""
while [ $# -gt 0 ]; do
  case "$1" in
    --frames) [ $# -ge 2 ] || die "--frames needs a number"; frames=$2; shift 2 ;;
    --broker-frames) [ $# -ge 2 ] || die "--broker-frames needs a number"; broker_frames=$2; shift 2 ;;
    --seed) [ $# -ge 2 ] || die "--seed needs a number"; seed=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$frames" =~ ^[0-9]+$ ]] || die "--frames: not a number: $frames"
[[ "$broker_frames" =~ ^[0-9]+$ ]] || die "--broker-frames: not a number: $broker_frames"
if [ -z "$seed" ]; then
  seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
fi
[[ "$seed" =~ ^[0-9]+$ ]] || die "--seed: not a number: $seed"

zookeeper_installed || ensure_zookeeper

step "Building the broker and the fuzz test (release)"
cargo test --release --quiet --no-run --test fuzz

export SLUICE_FUZZ_FRAMES="$frames" SLUICE_FUZZ_BROKER_FRAMES="$broker_frames" SLUICE_FUZZ_SEED="$seed"
step "In process: $frames frames, seed $seed"
cargo test --release --quiet --test fuzz mutated_frames_decode_and_validate_without_panics \
  -- --exact --nocapture --test-threads=1
step "Over TCP into a real broker: $broker_frames frames, seed $seed"
cargo test --release --quiet --test fuzz a_broker_survives_mutated_frames_and_still_serves_clients \
  -- --exact --nocapture --test-threads=1
printf '\nNo panics (seed %s, %s frames in process, %s over TCP).\n' "$seed" "$frames" "$broker_frames"
