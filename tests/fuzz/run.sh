#!/bin/sh
# run.sh [seconds] [workdir] - build the ocfd message-decoder fuzz target with
# clang's libFuzzer (plus ASan/UBSan) and run it for a while (default 10 s).
# Exit status: 0 when no crash was found, 77 (skip) when clang has no libFuzzer.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-10}
work=${2:-$(mktemp -d /tmp/ocf-fuzz.XXXXXX)}
mkdir -p "$work/corpus"
CC=${CLANG:-clang}
# Skip only when clang has no libFuzzer at all; once it has, a source that
# does not build is a failure of the tree, not a reason to skip.
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
    "$CC" -fsanitize=fuzzer -x c - -o "$work/probe" 2>/dev/null; then
  echo "fuzz: $CC cannot build a libFuzzer target; skipped"
  exit 77
fi
if ! "$CC" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 \
    -I"$root/include" -I"$root/src" "$here/fuzz_wire.c" -o "$work/fuzz_wire" 2>"$work/build.log"; then
  echo "fuzz: the decoder target does not build (see $work/build.log)"
  tail -20 "$work/build.log"
  exit 1
fi
# Seeds: a hello, a session, a request with two descriptors and data, a
# statistics request, a session list (as the client decodes its reply).
python3 - "$work/corpus" <<'PY' || true
import struct, sys, os
d = sys.argv[1]
def msg(cmd, body, flags=0, tag=1):
    return struct.pack('<IHHIi', 16 + len(body), cmd, flags, tag, 0) + body
hello = msg(1, struct.pack('<II', 0x3146434f, 1))
sess = msg(2, struct.pack('<II', 0, 1) + struct.pack('<5I', 4, 16, 0, 0, 0) + bytes(16))
desc = struct.pack('<8I', 4, 3, 0, 32, 0, 0, 0, 0) + bytes(64)
crypt = msg(5, struct.pack('<IHHIIQ', 1, 1, 0, 32, 0, 0) + desc + bytes(32))
key = msg(6, struct.pack('<IHH', 0, 1, 1) + struct.pack('<II', 8, 1) + struct.pack('<II', 8, 1) + b'\x05')
stats = msg(12, b'')
sesslist = msg(16, struct.pack('<III', 2, 7, 9))
for i, m in enumerate([hello, sess, crypt, key, stats, sesslist,
                       hello + sess + crypt + key + stats + sesslist]):
    open(os.path.join(d, 'seed%d' % i), 'wb').write(m)
PY
"$work/fuzz_wire" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" \
  >"$work/fuzz.log" 2>&1 || { tail -40 "$work/fuzz.log"; exit 1; }
grep -E 'stat::number_of_executed_units|Done' "$work/fuzz.log" | tail -2
[ -n "${2:-}" ] || rm -rf "$work"
