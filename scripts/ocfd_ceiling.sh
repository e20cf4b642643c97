#!/bin/sh
# ocfd_ceiling.sh [BUILD] [ROUNDS] - ocfd's shared-memory path beside the
# ceiling of any two-process design on this machine (tools/ceiling), each as
# a fraction of the in-process framework measured right beside it.
#
# Per round: `ocf bench --via ocfd` (its own in-process and ocfd-shm rates),
# then for each ocf-ipc-ceiling variant a pair: 1 s of the in-process
# framework (`ocf bench --only ocf`) and 1 s of the variant, the pair's order
# swapped every other round so that drifting load hits both alike.  Prints
# each round and then the median and range of every ratio.
set -eu
B=${1:-build}
R=${2:-6}
OCF=$B/ocf
CEIL=$B/tools/ceiling/ocf-ipc-ceiling
for f in "$OCF" "$CEIL"; do
  [ -x "$f" ] || { echo "ocfd_ceiling.sh: $f not built (make, or give the build directory)" >&2; exit 2; }
done
SIZE=16384
# queues:wait:batch-div (the client woken once depth/batch-div completions are ready)
VARIANTS="${VARIANTS:-per-thread:futex:3 per-thread:futex:2 shared:futex:2 per-thread:yield:3}"
TMP=$(mktemp -d /tmp/ocfd-ceiling.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM

# inproc: the in-process framework's requests/s (all CPUs, 64 in flight).
inproc() {
  "$OCF" bench --alg aes-128-gcm --sizes $SIZE --only ocf --seconds 1 --rounds 1 -q --json - |
    python3 -c 'import json,sys; print(int([r for r in json.load(sys.stdin) if r["path"]=="ocf"][0]["ops_per_s"]))'
}
ceiling() { # queues wait batch-div
  "$CEIL" --seconds 1 --size $SIZE --queues "$1" --wait "$2" --batch-div "$3" |
    sed -n 's/.*: \([0-9]*\) req\/s.*/\1/p'
}

i=1
while [ "$i" -le "$R" ]; do
  line="round $i:"
  "$OCF" bench --via ocfd --alg aes-128-gcm --sizes $SIZE -q --json - >"$TMP/dev.json"
  r=$(python3 -c 'import json,sys
d={r["path"]: r["ops_per_s"] for r in json.load(open(sys.argv[1]))}
print("%.3f" % (d["ocfd-shm"] / d["ocf"]))' "$TMP/dev.json")
  echo "ocfd-shm $r" >>"$TMP/ratios"
  line="$line ocfd-shm $r"
  for v in $VARIANTS; do
    q=${v%%:*}; rest=${v#*:}; w=${rest%%:*}; bd=${rest#*:}
    if [ $((i % 2)) -eq 1 ]; then a=$(inproc); c=$(ceiling "$q" "$w" "$bd"); else c=$(ceiling "$q" "$w" "$bd"); a=$(inproc); fi
    r=$(python3 -c "print('%.3f' % ($c / $a))")
    echo "$v $r" >>"$TMP/ratios"
    line="$line | $v $c/$a = $r"
  done
  echo "$line"
  i=$((i + 1))
done
echo "medians over $R rounds (min-max), each of the in-process framework measured beside it:"
python3 - "$TMP/ratios" <<'PY'
import statistics, sys
by = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    by.setdefault(k, []).append(float(v))
for k, v in by.items():
    print("  %-18s %.3f (%.3f-%.3f)" % (k, statistics.median(v), min(v), max(v)))
PY
