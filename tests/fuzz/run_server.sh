#!/bin/sh
# run_server.sh seconds builddir [workdir] - build the stateful ocfd fuzz
# target (fuzz_server.c: the daemon's sources compiled with clang's libFuzzer,
# ASan and UBSan, linked with the framework library of builddir) and run it
# for a while.  Exit status: 0 when nothing was found, 77 (skip) when clang
# has no libFuzzer.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-10}
build=${2:?usage: run_server.sh seconds builddir [workdir]}
work=${3:-$(mktemp -d /tmp/ocf-fuzz-server.XXXXXX)}
mkdir -p "$work/corpus"
CC=${CLANG:-clang}
srcs=$(ls "$root"/src/ocfd/*.c | grep -v '/main\.c$')
# shellcheck disable=SC2086
# Skip only when clang has no libFuzzer at all; once it has, a source that
# does not build is a failure of the tree, not a reason to skip.
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
    "$CC" -fsanitize=fuzzer -x c - -o "$work/probe" 2>/dev/null; then
  echo "fuzz: $CC cannot build a libFuzzer target; skipped"
  exit 77
fi
if ! "$CC" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 \
    -D_GNU_SOURCE -I"$root/include" -I"$root/src" "$here/fuzz_server.c" $srcs \
    "$build/libocf.a" -lcrypto -lz -lpthread -lm -o "$work/fuzz_server" 2>"$work/build.log"; then
  echo "fuzz: the server target does not build (see $work/build.log)"
  tail -20 "$work/build.log"
  exit 1
fi
# Seeds: one client that connects, opens a session, sends a copy-path
# request, registers a region and rings, submits through them, asks for a
# public-key operation and the statistics, and reads its replies (the bytes
# follow step() in fuzz_server.c: op, client, arguments, rounds).
printf '\000\000\001\004\000\001\000\001\017\000\001\005\000\004\000\001\003\000\001\007\000\003\001\001\017\000\001\006\000\002\000\001\003\000\000\000\001\011\000\000\000\001\001\012\000\003\000\001\003\000\000\005\001\013\000\000\001\015\000\000\001\017\000\002' \
  >"$work/corpus/seed0"
"$work/fuzz_server" -max_total_time="$secs" -max_len=2048 -timeout=20 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" >"$work/fuzz.log" 2>&1 || {
  tail -60 "$work/fuzz.log"
  echo "fuzz: the failing input is kept in $work"
  exit 1
}
grep -E 'stat::number_of_executed_units|stat::new_units_added|Done' "$work/fuzz.log" | tail -3
[ -n "${3:-}" ] || rm -rf "$work"
