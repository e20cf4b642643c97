#!/bin/sh
# The openssl command line with ocf.so active by configuration, against
# the same commands without it (OPENSSL_CONF=/dev/null: the default provider
# only): enc, dgst, mac, pkeyutl and speed give the same bytes, or verify
# each other's signatures where signatures are randomised.  The test
# configuration is the shipped fragment (build/ocfprov.cnf) with offload =
# always; OPENSSL_MODULES points at the build directory.
set -eu
build=$1
openssl=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
ok() { pass=$((pass + 1)); }
fail() { echo "FAIL: $*" >&2; exit 1; }

# the fragment, with every request that can go to the framework sent there
sed 's/^activate = 1$/activate = 1\noffload = always/' "$build/ocfprov.cnf" > "$tmp/ocf.cnf"
grep -q '^offload = always' "$tmp/ocf.cnf" || fail "could not make the test configuration"
export OPENSSL_MODULES="$build" OCF_LOG_LEVEL=0
with() { OPENSSL_CONF="$tmp/ocf.cnf" "$openssl" "$@"; }
without() { OPENSSL_CONF=/dev/null "$openssl" "$@"; }

# the provider is listed, with its version, and lists its algorithms
with list -providers > "$tmp/prov"
grep -q 'ocf provider' "$tmp/prov" || fail "list -providers: $(cat "$tmp/prov")"
grep -q 'version: 0\.' "$tmp/prov" || fail "list -providers shows no version"
grep -q 'NOT USABLE' "$tmp/prov" && fail "provider not usable: $(cat "$tmp/prov")"
with list -cipher-algorithms -provider ocf > "$tmp/ciph"
for a in AES-128-GCM AES-256-CBC AES-128-XTS ChaCha20-Poly1305 DES-EDE3-CBC AES-192-CTR; do
  grep -qi "$a.*@ ocf" "$tmp/ciph" || fail "list -cipher-algorithms: no $a"
done
ok

head -c 1000003 /dev/urandom > "$tmp/big"
: > "$tmp/empty"
printf 'attack at dawn' > "$tmp/small"
key=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
iv=0f0e0d0c0b0a09080706050403020100

# enc: raw keys, both directions, and a password (PBKDF2)
for c in aes-128-cbc aes-192-cbc aes-256-cbc aes-128-ctr aes-256-ctr des-ede3-cbc; do
  case $c in aes-128*) k=$(echo $key | cut -c1-32) ;; aes-192*|des-ede3*) k=$(echo $key | cut -c1-48) ;; *) k=$key ;; esac
  case $c in des-*) i=$(echo $iv | cut -c1-16) ;; *) i=$iv ;; esac
  for f in big empty small; do
    with enc -$c -K $k -iv $i -in "$tmp/$f" -out "$tmp/a" || fail "enc -$c $f with ocf"
    without enc -$c -K $k -iv $i -in "$tmp/$f" -out "$tmp/b"
    cmp -s "$tmp/a" "$tmp/b" || fail "enc -$c $f: outputs differ"
    with enc -d -$c -K $k -iv $i -in "$tmp/b" -out "$tmp/c" || fail "enc -d -$c $f with ocf"
    cmp -s "$tmp/c" "$tmp/$f" || fail "enc -d -$c $f: not the plaintext"
    ok
  done
done
with enc -aes-256-cbc -pbkdf2 -iter 1000 -S 0102030405060708 -pass pass:secret -in "$tmp/big" -out "$tmp/a"
without enc -aes-256-cbc -pbkdf2 -iter 1000 -S 0102030405060708 -pass pass:secret -in "$tmp/big" -out "$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "enc -pbkdf2: outputs differ"
ok

# dgst and mac
for d in sha1 sha224 sha256 sha384 sha512; do
  for f in big empty small; do
    a=$(with dgst -$d -r "$tmp/$f"); b=$(without dgst -$d -r "$tmp/$f")
    [ "$a" = "$b" ] || fail "dgst -$d $f: $a vs $b"
    a=$(with dgst -$d -hmac sesame -r "$tmp/$f"); b=$(without dgst -$d -hmac sesame -r "$tmp/$f")
    [ "$a" = "$b" ] || fail "dgst -$d -hmac $f"
    ok
  done
  D=$(echo $d | tr a-z A-Z)
  a=$(with mac -digest $D -macopt hexkey:$key -in "$tmp/big" HMAC)
  b=$(without mac -digest $D -macopt hexkey:$key -in "$tmp/big" HMAC)
  [ "$a" = "$b" ] || fail "mac HMAC $D"
  ok
done

# pkeyutl: keys made by the default provider, used through ocf.so
without genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.pem" 2>/dev/null
without genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$tmp/ec.pem"
without genpkey -algorithm ED25519 -out "$tmp/ed.pem"
with genpkey -algorithm X25519 -out "$tmp/x1.pem"   # made by ocf.so's key management
without genpkey -algorithm X25519 -out "$tmp/x2.pem"
without pkey -in "$tmp/x1.pem" -pubout -out "$tmp/x1p.pem"
without pkey -in "$tmp/x2.pem" -pubout -out "$tmp/x2p.pem"
without dgst -sha256 -binary "$tmp/big" > "$tmp/dg"
# PKCS #1 v1.5 is deterministic: the same bytes
with pkeyutl -sign -inkey "$tmp/rsa.pem" -in "$tmp/dg" -out "$tmp/s1" -pkeyopt digest:sha256
without pkeyutl -sign -inkey "$tmp/rsa.pem" -in "$tmp/dg" -out "$tmp/s2" -pkeyopt digest:sha256
cmp -s "$tmp/s1" "$tmp/s2" || fail "pkeyutl RSA PKCS#1 signatures differ"
ok
# PSS, ECDSA, Ed25519: each verifies the other's
for kind in pss ec ed; do
  case $kind in
    pss) k=rsa.pem; o="-pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss"; in=dg; r= ;;
    ec) k=ec.pem; o=; in=dg; r= ;;
    ed) k=ed.pem; o=; in=small; r=-rawin ;;
  esac
  with pkeyutl -sign $r -inkey "$tmp/$k" $o -in "$tmp/$in" -out "$tmp/s1"
  without pkeyutl -sign $r -inkey "$tmp/$k" $o -in "$tmp/$in" -out "$tmp/s2"
  without pkeyutl -verify $r -inkey "$tmp/$k" $o -in "$tmp/$in" -sigfile "$tmp/s1" > /dev/null ||
    fail "pkeyutl $kind: ocf's signature refused"
  with pkeyutl -verify $r -inkey "$tmp/$k" $o -in "$tmp/$in" -sigfile "$tmp/s2" > /dev/null ||
    fail "pkeyutl $kind: the default provider's signature refused by ocf"
  printf 'x' >> "$tmp/s2"
  with pkeyutl -verify $r -inkey "$tmp/$k" $o -in "$tmp/$in" -sigfile "$tmp/s2" > /dev/null 2>&1 &&
    fail "pkeyutl $kind: a corrupted signature verified"
  ok
done
# encryption: OAEP both ways
with pkeyutl -encrypt -inkey "$tmp/rsa.pem" -pkeyopt rsa_padding_mode:oaep -in "$tmp/small" -out "$tmp/e1"
without pkeyutl -decrypt -inkey "$tmp/rsa.pem" -pkeyopt rsa_padding_mode:oaep -in "$tmp/e1" -out "$tmp/d1"
cmp -s "$tmp/d1" "$tmp/small" || fail "pkeyutl OAEP: ocf's ciphertext"
without pkeyutl -encrypt -inkey "$tmp/rsa.pem" -in "$tmp/small" -out "$tmp/e2"
with pkeyutl -decrypt -inkey "$tmp/rsa.pem" -in "$tmp/e2" -out "$tmp/d2"
cmp -s "$tmp/d2" "$tmp/small" || fail "pkeyutl PKCS#1: ocf's decryption"
ok
# X25519: the same secret
with pkeyutl -derive -inkey "$tmp/x1.pem" -peerkey "$tmp/x2p.pem" -out "$tmp/k1"
without pkeyutl -derive -inkey "$tmp/x2.pem" -peerkey "$tmp/x1p.pem" -out "$tmp/k2"
cmp -s "$tmp/k1" "$tmp/k2" || fail "pkeyutl -derive: secrets differ"
ok

# speed -evp runs (its figures are in ocfprov(7) and the bench script), and
# in async mode the jobs pause
for a in aes-128-gcm sha256; do
  with speed -seconds 1 -bytes 16384 -evp $a > "$tmp/speed" 2>&1 || fail "speed -evp $a: $(cat "$tmp/speed")"
  grep -qi "^$a " "$tmp/speed" || fail "speed -evp $a printed no result: $(cat "$tmp/speed")"
  ok
done
with speed -seconds 1 -bytes 16384 -async_jobs 8 -evp aes-128-cbc > "$tmp/speed" 2>&1 ||
  fail "speed -async_jobs: $(cat "$tmp/speed")"
grep -qi "^aes-128-cbc " "$tmp/speed" || fail "speed -async_jobs printed no result"
ok

# a configuration error: the provider says so (list, stderr) and the
# default provider does the work
sed 's/^offload = always$/offload = sometimes/' "$tmp/ocf.cnf" > "$tmp/bad.cnf"
OPENSSL_CONF="$tmp/bad.cnf" "$openssl" list -providers | grep -q "configuration error: offload = 'sometimes'" ||
  fail "a bad configuration does not show in list -providers"
a=$(printf abc | OCF_LOG_LEVEL=1 OPENSSL_CONF="$tmp/bad.cnf" "$openssl" dgst -sha256 2> "$tmp/err")
grep -q "ocf provider: configuration error, not used: offload = 'sometimes'" "$tmp/err" ||
  fail "a bad configuration is not reported on stderr: $(cat "$tmp/err")"
[ "$a" = "$(printf abc | without dgst -sha256)" ] || fail "dgst with a bad configuration"
# an unreachable daemon: all inline, said so
sed 's|^offload = always$|socket = /nonexistent/ocfd.sock|' "$tmp/ocf.cnf" > "$tmp/nod.cnf"
a=$(printf abc | OCF_LOG_LEVEL=1 OPENSSL_CONF="$tmp/nod.cnf" "$openssl" dgst -sha256 2> "$tmp/err")
grep -q "cannot reach ocfd at /nonexistent/ocfd.sock" "$tmp/err" ||
  fail "an unreachable ocfd is not reported: $(cat "$tmp/err")"
[ "$a" = "$(printf abc | without dgst -sha256)" ] || fail "dgst without its daemon"
ok

# the fragment included at the end of a system-style openssl.cnf
cp /etc/ssl/openssl.cnf "$tmp/main.cnf" 2>/dev/null || echo 'openssl_conf = openssl_init' > "$tmp/main.cnf"
printf '\n.include %s\n' "$tmp/ocf.cnf" >> "$tmp/main.cnf"
OPENSSL_CONF="$tmp/main.cnf" "$openssl" list -providers > "$tmp/prov2"
grep -q 'ocf provider' "$tmp/prov2" && grep -q 'OpenSSL Default Provider' "$tmp/prov2" ||
  fail ".include at the end of openssl.cnf: $(cat "$tmp/prov2")"
ok
echo "provider command line: $pass passed, 0 failed"
