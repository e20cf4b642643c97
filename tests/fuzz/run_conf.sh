#!/bin/sh
# run_conf.sh [seconds] [workdir] - build the ipsecd configuration fuzz target
# (tests/fuzz/fuzz_conf.c with src/ipsecd/conf.c and conf_sa.c compiled with
# clang's libFuzzer, ASan and UBSan, linked with the build's libocfipsec.a
# and libocf.a) and run it for a while (default 10 s), starting from valid
# configurations.  The build goes to
# $OCF_BUILD_DIR/fuzz-conf and is reused while no source is newer than it.
# Exit status: 0 when nothing was found, 77 (skip) when clang has no libFuzzer.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
secs=${1:-10}
work=${2:-$(mktemp -d /tmp/ocf-fuzz-conf.XXXXXX)}
out=${OCF_BUILD_DIR:?OCF_BUILD_DIR must name the build directory}/fuzz-conf
mkdir -p "$work/corpus" "$out"
bin=$out/fuzz_conf
libs="$OCF_BUILD_DIR/src/ipsec/libocfipsec.a $OCF_BUILD_DIR/libocf.a"
srcs="$here/fuzz_conf.c $root/src/ipsecd/conf.c $root/src/ipsecd/conf_sa.c"
fuzz_probe "$out"
# shellcheck disable=SC2086
if fuzz_stale "$bin" $srcs $libs "$root"/src/ipsecd/*.h "$root"/include/ocf/*.h; then
  fuzz_build "$out" "$bin" "$srcs" "$libs"
fi
# Seeds: a valid pair of SAs with their policies (as test_ipsecd_config.c
# writes them), the same with keys from a key file (the target's "#keys"
# form, see fuzz_conf.c) and with the global statements.
sa='sa out1 {\n  dir out\n  src 198.18.0.1\n  dst 198.18.0.2\n  spi 0x1001\n  enc aes-gcm-16\n  enc-key %s\n}\nsa in1 {\n  dir in\n  src 198.18.0.2\n  dst 198.18.0.1\n  spi 0x1002\n  enc aes-cbc\n  enc-key %s\n  auth hmac-sha2-256-128\n  auth-key %s\n  replay-window 128\n  lifetime soft bytes 10M\n}\n'
pol='policy o out from 10.1.0.0/16 to 10.2.0.0/16 protect out1\npolicy i in from 10.2.0.0/16 to 10.1.0.0/16 proto tcp protect in1\n'
k20=000102030405060708090a0b0c0d0e0f10111213
k16=101112131415161718191a1b1c1d1e1f
k32=202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
# shellcheck disable=SC2059
printf "$sa$pol" $k20 $k16 $k32 >"$work/corpus/seed-inline"
# shellcheck disable=SC2059
printf "#keys \nk-out $k20\nk-in $k16\nk-auth $k32\n#end\nkeys %%KEYS%%\n$sa$pol" @k-out @k-in @k-auth \
  >"$work/corpus/seed-keys"
# shellcheck disable=SC2059
printf "mtu 1400\nlink-mtu 1500\nport 4500\nworkers 2\n$sa$pol" $k20 $k16 $k32 >"$work/corpus/seed-global"
fuzz_run "$bin" "$work" "$secs" 4096 "${2:-}"
