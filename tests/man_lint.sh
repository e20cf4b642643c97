#!/bin/sh
# Every manual page must pass mandoc's linter at warning level.
set -eu
n=0
for page in "$1"/docs/man/*.[0-9]; do
  mandoc -T lint -W warning "$page"
  n=$((n + 1))
done
[ "$n" -gt 0 ]
echo "man pages: $n passed, 0 failed"
