#!/bin/sh
# `make install`'s provider component into a scratch root (DESTDIR): the
# module lands in OpenSSL's module directory and the fragment beside its
# configuration, and the installed pair works: `openssl list -providers`
# shows the provider, active beside the default one.
set -eu
build=$1
mdir=$2
cdir=$3
openssl=$4
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
DESTDIR="$root" cmake --install "$build" --component ocfprov > /dev/null
test -f "$root$mdir/ocf.so" || { echo "no $mdir/ocf.so"; exit 1; }
test -f "$root$cdir/ocfprov.cnf" || { echo "no $cdir/ocfprov.cnf"; exit 1; }
# libocf.so.0 is installed by the default component (not here): the build's
LD_LIBRARY_PATH="$build" OPENSSL_MODULES="$root$mdir" OPENSSL_CONF="$root$cdir/ocfprov.cnf" \
  OCF_LOG_LEVEL=0 "$openssl" list -providers > "$root/out"
grep -q 'ocf provider' "$root/out" && grep -q 'OpenSSL Default Provider' "$root/out" ||
  { cat "$root/out"; exit 1; }
echo "provider install: 1 passed, 0 failed"
