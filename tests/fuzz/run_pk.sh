#!/bin/sh
# run_pk.sh [seconds] [workdir] - build the public-key request fuzz target
# (tests/fuzz/fuzz_pk.c with the framework's request checks and the software
# producer's public-key sources compiled with clang's libFuzzer, ASan and
# UBSan, linked with the build's libocf.a for the rest) and run it for a
# while (default 10 s), starting from one valid request of each operation.
# The build goes to $OCF_BUILD_DIR/fuzz-pk and is reused while no source is
# newer than it.
# Exit status: 0 when nothing was found, 77 (skip) when clang has no libFuzzer.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
secs=${1:-10}
work=${2:-$(mktemp -d /tmp/ocf-fuzz-pk.XXXXXX)}
out=${OCF_BUILD_DIR:?OCF_BUILD_DIR must name the build directory}/fuzz-pk
mkdir -p "$work/corpus" "$out"
bin=$out/fuzz_pk
lib=$OCF_BUILD_DIR/libocf.a
# The code under test is instrumented; the objects of the same names in
# libocf.a are then not pulled from the archive.
srcs="$here/fuzz_pk.c $root/src/core/kvalidate.c $root/src/drivers/soft/soft_pk.c"
srcs="$srcs $root/src/drivers/soft/soft_ec.c $root/src/drivers/soft/soft_blind.c"
fuzz_probe "$out"
# shellcheck disable=SC2086
if fuzz_stale "$bin" $srcs "$lib" "$here"/*.h "$root"/src/drivers/soft/*.h "$root"/src/core/*.h \
    "$root"/include/ocf/*.h; then
  fuzz_build "$out" "$bin" "$srcs" "$lib"
fi
# Seeds: one well-formed request per operation (the input format of
# fuzz_pk.c), on public values: the curves' base points as peers and public
# keys, small scalars, RFC 7748's u = 9, a 64-bit toy RSA/DSA/DH group.
python3 - "$work/corpus" <<'PY'
import struct, sys
d = sys.argv[1]
P256 = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
        0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)
P384 = (0xAA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7,
        0x3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F)
def num(v, nbytes=None):
    b = v.to_bytes(max(1, (v.bit_length() + 7) // 8), 'little')
    return (v.bit_length(), b)
def octs(b):
    return (8 * len(b), bytes(b))
def out(nbytes):
    return (8 * nbytes, bytes(nbytes))
def req(op, ins, outs):
    s = bytes([op, len(ins) | (len(outs) << 3)])
    for bits, b in ins + outs:
        s += bytes([0]) + struct.pack('<H', bits) + b
    return s
p, q = 0xFFFFFFFB, 0xFFFFFFBF  # two 32-bit primes
n = p * q
e, dd = 65537, pow(65537, -1, (p - 1) * (q - 1))
seeds = [
    req(0, [num(5), num(3), num(23)], [out(1)]),
    req(1, [num(p), num(q), num(12345), num(dd % (p - 1)), num(dd % (q - 1)), num(pow(q, -1, p))], [out(8)]),
    req(2, [num(7), num(23), num(11), num(4), num(3)], [out(2), out(2)]),
    req(3, [num(7), num(23), num(11), num(4), num(18), num(1), num(2)], []),
    req(4, [num(6), num(5), num(23)], [out(1)]),
    req(5, [octs(bytes(32)), num(7)], [out(32), out(32)]),
    req(6, [octs(bytes(32)), num(P256[0]), num(P256[1]), num(1), num(1)], []),
    req(7, [octs(bytes(48)), num(7)], [out(48), out(48)]),
    req(8, [octs(bytes(48)), num(P384[0]), num(P384[1]), num(1), num(1)], []),
    req(9, [num(3), num(P256[0]), num(P256[1])], [out(32)]),
    req(10, [num(3), num(P384[0]), num(P384[1])], [out(48)]),
    req(11, [octs(bytes([1] * 32)), octs(bytes([9] + [0] * 31))], [out(32)]),
    req(12, [octs(b'abc'), octs(bytes(32))], [out(64)]),
    req(13, [octs(b'abc'), octs(bytes(32)), octs(bytes(64))], []),
]
for i, s in enumerate(seeds):
    open('%s/seed%02d' % (d, i), 'wb').write(s)
PY
# inputs that once failed it (tests/fuzz/pk_regress/) run first, with the seeds
cp "$here"/pk_regress/* "$work/corpus/" 2>/dev/null || true
fuzz_run "$bin" "$work" "$secs" 2048 "${2:-}"
