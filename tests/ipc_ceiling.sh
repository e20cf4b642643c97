#!/bin/sh
# ipc_ceiling.sh BIN - ocf-ipc-ceiling in each of its modes and queue / wait
# choices, briefly: each run must end (a lost wake-up would hang it: timeout)
# and must find every buffer sealed exactly as often as it was sent (the tool
# checks that itself and exits 1 otherwise).
set -u
BIN=$1
fail=0
run() {
  out=$(timeout 30 "$BIN" --seconds 0.2 "$@" 2>&1)
  rc=$?
  case "$out" in
    *" req/s "* | *" turns/s "*) ;;
    *) rc=99 ;;
  esac
  if [ "$rc" -ne 0 ]; then
    echo "FAIL ($rc): $BIN $*: $out"
    fail=1
  else
    echo "ok: $out"
  fi
}
run --mode inproc
run --mode inproc --threads 3 --depth 9 --size 1
run
run --queues shared
run --wait yield
run --wait socket
run --wait socket --queues shared --threads 3 --depth 5 --size 1 --batch-div 1
run --queues shared --threads 3 --depth 7 --size 100 --batch-div 1
run --threads 1 --depth 1 --size 64
run --depth 1024 --size 256 --spin 100
run --mode pingpong
# refused: a clear message and exit 2, nothing run
for bad in "--depth 0" "--depth 2000" "--threads 9" "--mode x" "--wait pipe" "--seconds -1" "--size 1x" "extra"; do
  # shellcheck disable=SC2086
  timeout 10 "$BIN" $bad >/dev/null 2>&1
  rc=$?
  if [ "$rc" -ne 2 ]; then
    echo "FAIL: '$bad' gave exit $rc, expected 2"
    fail=1
  fi
done
exit $fail
