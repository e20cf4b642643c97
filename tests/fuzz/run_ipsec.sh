#!/bin/sh
# run_ipsec.sh [seconds] [workdir] - build the ipsec_input fuzz target
# (tests/fuzz/fuzz_ipsec.c and libocfipsec compiled with clang's libFuzzer,
# ASan and UBSan, linked with the build's libocf.a) and run it for a
# while (default 10 s),
# starting from valid packets of every SA the target knows.
# The build goes to $OCF_BUILD_DIR/fuzz-ipsec (or the workdir) and is reused
# while no source is newer than it.
# Exit status: 0 when no crash was found, 77 (skip) when clang has no libFuzzer.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-10}
work=${2:-$(mktemp -d /tmp/ocf-fuzz-ipsec.XXXXXX)}
out=${OCF_BUILD_DIR:-$work}/fuzz-ipsec
mkdir -p "$work/corpus" "$out"
CC=${CLANG:-clang}
bin=$out/fuzz_ipsec
lib=${OCF_BUILD_DIR:?OCF_BUILD_DIR must name the build directory}/libocf.a
# Only the library under test is instrumented; the framework comes from the
# build's libocf.a (instrumenting all of it took most of the test's time).
srcs="$here/fuzz_ipsec.c $(ls "$root"/src/ipsec/*.c)"
stale=1
if [ -x "$bin" ]; then
  stale=0
  for f in $srcs "$lib" "$root"/src/ipsec/*.h "$root"/include/ocf/*.h; do
    [ "$f" -nt "$bin" ] && stale=1 && break
  done
fi
# Skip only when clang has no libFuzzer at all; once it has, a source that
# does not compile or link is a failure of the tree, not a reason to skip.
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
    "$CC" -fsanitize=fuzzer -x c - -o "$out/probe" 2>/dev/null; then
  echo "fuzz: $CC cannot build a libFuzzer target; skipped"
  exit 77
fi
if [ "$stale" = 1 ]; then
  flags="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 -D_GNU_SOURCE"
  flags="$flags -I$root/include -I$root/src -w"
  # a clean object directory: objects of files renamed or removed since the
  # last build must not be linked in
  rm -rf "$out/obj"
  mkdir -p "$out/obj"
  # objects two at a time (the fuzzer instrumentation; libFuzzer's main
  # comes with the link)
  for f in $srcs; do echo "$f"; done | xargs -P 2 -I{} sh -c \
    'o="'"$out"'/obj/$(echo "{}" | tr / _).o"; '"$CC"' '"$flags"' -c "{}" -o "$o"' \
    2>"$out/build.log" || { echo "fuzz: build failed (see $out/build.log)"; tail -20 "$out/build.log"; exit 1; }
  if ! "$CC" -fsanitize=fuzzer,address,undefined "$out"/obj/*.o "$lib" -lcrypto -lz -lpthread -lm \
      -o "$bin" 2>>"$out/build.log"; then
    echo "fuzz: link failed (see $out/build.log)"
    tail -20 "$out/build.log"
    exit 1
  fi
fi
OCF_FUZZ_SEEDS="$work/corpus" OCF_LOG_LEVEL=0 "$bin" >/dev/null 2>&1 || true
# inputs that once crashed it (tests/fuzz/ipsec_regress/) run first, with the seeds
cp "$here"/ipsec_regress/* "$work/corpus/" 2>/dev/null || true
OCF_LOG_LEVEL=0 "$bin" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
  -rss_limit_mb=1024 -artifact_prefix="$work/" "$work/corpus" >"$work/fuzz.log" 2>&1 ||
  { tail -40 "$work/fuzz.log"; echo "fuzz: the input is in $work"; exit 1; }
grep -E 'stat::number_of_executed_units|Done' "$work/fuzz.log" | tail -2
[ -n "${2:-}" ] || rm -rf "$work"
