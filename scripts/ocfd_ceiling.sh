#!/bin/sh
# ocfd_ceiling.sh [BUILD] [ROUNDS] - ocfd's shared-memory path beside the
# ceiling of any two-process design on this machine (tools/ceiling), each as
# a fraction of the in-process framework measured right beside it.
#
# Per round: `ocf bench --via ocfd` (the issue's own command: its in-process
# and ocfd-shm rates, measured a few seconds apart), then one pair per
# contender: 1 s of the in-process framework (`ocf bench --only ocf`) and 1 s
# of the contender, the pair's order swapped every other round so that
# drifting load hits both alike.  The contenders are ocfd's shared-memory
# path alone (`ocf bench --via ocfd --only ocfd-shm`, 64 in flight, as the
# ceiling) and each ocf-ipc-ceiling variant.  Prints each round, then the
# median and range of every ratio, and of ocfd-shm over the first variant
# (each over its own in-process second).
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
VARIANTS="${VARIANTS:-per-thread:futex:2 shared:futex:2 per-thread:futex:3}"
TMP=$(mktemp -d /tmp/ocfd-ceiling.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM

# rate PATH [ocf bench options]: requests/s of one path of `ocf bench`.  The
# JSON goes to a file and is read afterwards: a reader started beside the run
# (python3 in a pipe) took a tenth of a 1 s measurement on two CPUs.
rate() {
  p=$1
  shift
  "$OCF" bench --alg aes-128-gcm --sizes $SIZE --seconds 1 --rounds 1 -q --json "$TMP/r.json" "$@"
  python3 -c 'import json,sys; print(int([r for r in json.load(open(sys.argv[2])) if r["path"]==sys.argv[1]][0]["ops_per_s"]))' "$p" "$TMP/r.json"
}
inproc() { rate ocf --only ocf; }
contender() { # ocfd-shm, or queues:wait:batch-div of the ceiling
  case $1 in
    ocfd-shm) rate ocfd-shm --via ocfd --only ocfd-shm ;;
    *)
      q=${1%%:*}; rest=${1#*:}; w=${rest%%:*}; bd=${rest#*:}
      "$CEIL" --seconds 1 --size $SIZE --queues "$q" --wait "$w" --batch-div "$bd" |
        sed -n 's/.*: \([0-9]*\) req\/s.*/\1/p'
      ;;
  esac
}

i=1
while [ "$i" -le "$R" ]; do
  line="round $i:"
  "$OCF" bench --via ocfd --alg aes-128-gcm --sizes $SIZE -q --json "$TMP/dev.json"
  r=$(python3 -c 'import json,sys
d={r["path"]: r["ops_per_s"] for r in json.load(open(sys.argv[1]))}
print("%.3f" % (d["ocfd-shm"] / d["ocf"]))' "$TMP/dev.json")
  echo "via-ocfd $r" >>"$TMP/ratios"
  line="$line via-ocfd $r"
  first=
  for v in ocfd-shm $VARIANTS; do
    if [ $((i % 2)) -eq 1 ]; then a=$(inproc); c=$(contender "$v"); else c=$(contender "$v"); a=$(inproc); fi
    r=$(python3 -c "print('%.3f' % ($c / $a))")
    echo "$v $r" >>"$TMP/ratios"
    line="$line | $v $c/$a = $r"
    if [ "$v" = ocfd-shm ]; then
      shm=$r
    elif [ -z "$first" ]; then
      first=$v
      echo "ocfd-shm/$v $(python3 -c "print('%.3f' % ($shm / $r))")" >>"$TMP/ratios"
    fi
  done
  echo "$line"
  i=$((i + 1))
done
echo "medians over $R rounds (min-max), each of the in-process framework measured beside it"
echo "(via-ocfd: the issue's command, ocfd-shm over the in-process rate it measured itself):"
python3 - "$TMP/ratios" <<'PY'
import statistics, sys
by = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    by.setdefault(k, []).append(float(v))
for k, v in by.items():
    print("  %-32s %.3f (%.3f-%.3f)" % (k, statistics.median(v), min(v), max(v)))
PY
