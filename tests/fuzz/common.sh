# common.sh - what run_ipsec.sh, run_pk.sh and run_conf.sh share; sourced
# with `here` set to this folder.  Each of them builds one libFuzzer target
# into $OCF_BUILD_DIR/fuzz-NAME (reused while no source is newer), runs it
# for a number of seconds on a corpus in a work folder, and exits 0 when
# nothing was found, 1 when something was (the input kept in the work
# folder), 77 (skip) when clang has no libFuzzer.
root=$(cd "$here/../.." && pwd)
CC=${CLANG:-clang}

# fuzz_probe DIR: skip when clang has no libFuzzer at all; once it has, a
# target that does not build is a failure of the tree, not a reason to skip.
fuzz_probe() {
  if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
      "$CC" -fsanitize=fuzzer -x c - -o "$1/probe" 2>/dev/null; then
    echo "fuzz: $CC cannot build a libFuzzer target; skipped"
    exit 77
  fi
}

# fuzz_stale BIN FILE...: true when BIN is missing or older than a FILE.
fuzz_stale() {
  _bin=$1
  shift
  [ -x "$_bin" ] || return 0
  for _f in "$@"; do
    [ "$_f" -nt "$_bin" ] && return 0
  done
  return 1
}

# fuzz_build OUT BIN "SRCS" "LIBS": SRCS compiled with libFuzzer, ASan and
# UBSan into a clean OUT/obj (two at a time), linked with LIBS into BIN.
fuzz_build() {
  _flags="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 -D_GNU_SOURCE"
  _flags="$_flags -I$root/include -I$root/src -I$root/src/ipsec -I$root -w"
  # objects of files renamed or removed since the last build must not be
  # linked in
  rm -rf "$1/obj"
  mkdir -p "$1/obj"
  for _f in $3; do echo "$_f"; done | xargs -P 2 -I{} sh -c \
    'o="'"$1"'/obj/$(echo "{}" | tr / _).o"; '"$CC"' '"$_flags"' -c "{}" -o "$o"' \
    2>"$1/build.log" || { echo "fuzz: build failed (see $1/build.log)"; tail -20 "$1/build.log"; exit 1; }
  # shellcheck disable=SC2086
  if ! "$CC" -fsanitize=fuzzer,address,undefined "$1"/obj/*.o $4 -lcrypto -lz -lpthread -lm \
      -o "$2" 2>>"$1/build.log"; then
    echo "fuzz: link failed (see $1/build.log)"
    tail -20 "$1/build.log"
    exit 1
  fi
}

# fuzz_run BIN WORK SECS MAXLEN KEEP: runs BIN on WORK/corpus for SECS; on a
# finding prints the end of the log and exits 1; removes WORK unless KEEP.
fuzz_run() {
  OCF_LOG_LEVEL=0 "$1" -max_total_time="$3" -max_len="$4" -timeout=20 -print_final_stats=1 \
    -rss_limit_mb=1024 -artifact_prefix="$2/" "$2/corpus" </dev/null >"$2/fuzz.log" 2>&1 ||
    { tail -40 "$2/fuzz.log"; echo "fuzz: the input is in $2"; exit 1; }
  grep -E 'stat::number_of_executed_units|stat::new_units_added|Done' "$2/fuzz.log" | tail -3
  [ -n "$5" ] || rm -rf "$2"
}
