#!/bin/sh
# Installs the build into a scratch prefix and builds examples/encrypt.c
# against it the way a user would (pkg-config, shared library), then runs it.
set -eu
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/ | head -n 1)
test -f "$prefix/include/ocf/ocf.h"
test -f "$libdir/libocf.a"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc "$src/examples/encrypt.c" $(pkg-config --define-prefix --cflags --libs ocf) -o "$prefix/encrypt"
LD_LIBRARY_PATH="$libdir" "$prefix/encrypt" | tee "$prefix/out"
grep -q "round trip through producer 'soft': attack at dawn" "$prefix/out"
# static linking works too
cc "$src/examples/encrypt.c" $(pkg-config --define-prefix --cflags ocf) "$libdir/libocf.a" \
   $(pkg-config --libs-only-l libcrypto zlib) -lpthread -lm -o "$prefix/encrypt-static"
"$prefix/encrypt-static" >/dev/null
echo "install check: 2 passed, 0 failed"
