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
. "$here/common.sh"
secs=${1:-10}
work=${2:-$(mktemp -d /tmp/ocf-fuzz-ipsec.XXXXXX)}
out=${OCF_BUILD_DIR:?OCF_BUILD_DIR must name the build directory}/fuzz-ipsec
mkdir -p "$work/corpus" "$out"
bin=$out/fuzz_ipsec
lib=$OCF_BUILD_DIR/libocf.a
# Only the library under test is instrumented; the framework comes from the
# build's libocf.a (instrumenting all of it took most of the test's time).
srcs="$here/fuzz_ipsec.c $(ls "$root"/src/ipsec/*.c)"
fuzz_probe "$out"
# shellcheck disable=SC2086
if fuzz_stale "$bin" $srcs "$lib" "$root"/src/ipsec/*.h "$root"/include/ocf/*.h; then
  fuzz_build "$out" "$bin" "$srcs" "$lib"
fi
OCF_FUZZ_SEEDS="$work/corpus" OCF_LOG_LEVEL=0 "$bin" >/dev/null 2>&1 || true
# inputs that once crashed it (tests/fuzz/ipsec_regress/) run first, with the seeds
cp "$here"/ipsec_regress/* "$work/corpus/" 2>/dev/null || true
fuzz_run "$bin" "$work" "$secs" 4096 "${2:-}"
