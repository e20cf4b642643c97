#!/bin/sh
# bench_provider.sh - ocf.so against OpenSSL's default provider with
# `openssl speed`, one thread, in alternating rounds (ocfprov(7)).
#
#   scripts/bench_provider.sh [BUILD_DIR] [ROUNDS] [SECONDS]
#
# For each of AES-128-GCM, AES-128-CBC, ChaCha20-Poly1305 and SHA-256 at 16 ..
# 16384 bytes (`speed -evp`), and RSA-2048, ECDSA P-256, ECDH P-256, X25519
# and Ed25519 operations, it runs
# `openssl speed` once with the provider active by configuration (the
# shipped fragment, offload = $OFFLOAD, default auto) and once without it,
# ROUNDS times, the order reversed every other round, and prints the median
# of the per-round ratios (provider / default) with their range.  Then RSA-
# 1024 signatures with -async_jobs 32 against four modeled Broadcom 5820
# cards (devices = bcm5820*4, offload = always), against the cards' modeled
# aggregate as libocf's model states it (ocf_sim_kpeak_ops).
#
# PARTS (default "sym pk cards") chooses which of the three parts run:
# PARTS=pk OFFLOAD=always runs only the public-key table, every operation
# through the framework.
#
# The figures are CPU-time based for the one-thread runs (speed's default)
# and elapsed-time based for the cards.  On a shared machine, run it when it
# is quiet, or read the ranges.
set -eu
build=${1:-build}
rounds=${2:-5}
secs=${3:-1}
offload=${OFFLOAD:-auto}
parts=${PARTS:-sym pk cards}
want() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
build=$(cd "$build" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
openssl=${OPENSSL:-openssl}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OCF_LOG_LEVEL=0
# The configuration: the shipped fragment's, with the module by path
# (OPENSSL_MODULES would also hide the legacy provider from libocf's
# software producer) and the provider section's settings given here.
mkconf() { # mkconf FILE SETTINGS...
  f=$1
  shift
  {
    printf 'openssl_conf = openssl_init\n[openssl_init]\nproviders = provs\nalg_section = algs\n'
    printf '[provs]\nocf = ocf_sect\ndefault = dflt_sect\n[ocf_sect]\nmodule = %s/ocf.so\nactivate = 1\n' "$build"
    for kv in "$@"; do printf '%s\n' "$kv"; done
    printf '[dflt_sect]\nactivate = 1\n[algs]\ndefault_properties = ?provider=ocf\n'
  } > "$f"
}
mkconf "$tmp/ocf.cnf" "offload = $offload"
mkconf "$tmp/cards.cnf" "devices = bcm5820*4" "offload = always"

run() { # run WHICH ARGS... -> machine-readable speed output
  if [ "$1" = ocf ]; then shift; OPENSSL_CONF="$tmp/ocf.cnf" "$openssl" speed -mr "$@"
  else shift; OPENSSL_CONF=/dev/null "$openssl" speed -mr "$@"; fi 2>/dev/null
}

echo "# ocf.so vs the default provider: $("$openssl" version), $(nproc) CPUs, $rounds rounds of ${secs}s, offload = $offload"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# one-thread symmetric: +F:n:name:v16:v64:v256:v1024:v8192:v16384 (bytes/s)
want sym && for alg in aes-128-gcm aes-128-cbc chacha20-poly1305 sha256; do
  : > "$tmp/r"
  i=0
  while [ $i -lt "$rounds" ]; do
    if [ $((i % 2)) -eq 0 ]; then order="ocf def"; else order="def ocf"; fi
    for w in $order; do
      run $w -seconds "$secs" -evp $alg | grep '^+F:' | cut -d: -f4- | tr ':' ' ' > "$tmp/$w"
    done
    paste -d' ' "$tmp/ocf" "$tmp/def" >> "$tmp/r"
    i=$((i + 1))
  done
  echo "## $alg (speed -evp), ratio provider/default per size: median [min-max] of $rounds rounds"
  awk -v n="$rounds" '
    { for (k = 1; k <= 6; k++) { r[NR, k] = $k / $(k + 6); o[NR, k] = $k; d[NR, k] = $(k + 6) } }
    function med(k, a,   i, j, t, v) { for (i = 1; i <= n; i++) v[i] = a[i, k];
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
    function lo(k,   i, m) { m = r[1, k]; for (i = 2; i <= n; i++) if (r[i, k] < m) m = r[i, k]; return m }
    function hi(k,   i, m) { m = r[1, k]; for (i = 2; i <= n; i++) if (r[i, k] > m) m = r[i, k]; return m }
    END { split("16 64 256 1024 8192 16384", sz, " ");
      printf "| bytes | provider MB/s | default MB/s | ratio | range |\n|---:|---:|---:|---:|---|\n";
      for (k = 1; k <= 6; k++)
        printf "| %s | %.0f | %.0f | %.1f%% | %.1f-%.1f%% |\n", sz[k], med(k, o) / 1e6, med(k, d) / 1e6,
               100 * med(k, r), 100 * lo(k), 100 * hi(k) }' "$tmp/r"
  echo
done

# public key, operations per second from speed -mr: +F2 RSA (sign), +F4
# ECDSA (sign, verify), +F5 ECDH (index 3 P-256, 22 X25519), +F6 EdDSA
# (Ed25519 sign, verify)
want pk && {
pkops() { # pkops FILE -> the seven figures, in the order of the table below
  awk -F: '/^\+F2:/ { r = $4 } /^\+F4:/ { es = $4; ev = $5 }
    /^\+F5:3:/ { p = $4 } /^\+F5:22:/ { x = $4 } /^\+F6:/ { eds = $5; edv = $6 }
    END { print r, es, ev, p, x, eds, edv }' "$1"
}
: > "$tmp/s"
i=0
while [ $i -lt "$rounds" ]; do
  if [ $((i % 2)) -eq 0 ]; then order="ocf def"; else order="def ocf"; fi
  for w in $order; do
    run $w -seconds "$secs" rsa2048 ecdsap256 ecdhp256 ecdhx25519 ed25519 | grep -E '^\+F[2456]:' > "$tmp/$w"
  done
  echo "$(pkops "$tmp/ocf") $(pkops "$tmp/def")" >> "$tmp/s"
  i=$((i + 1))
done
echo "## public key (speed rsa2048 ecdsap256 ecdhp256 ecdhx25519 ed25519), operations per second: median of $rounds rounds"
awk -v n="$rounds" '
  { for (k = 1; k <= 7; k++) { o[NR, k] = $k; d[NR, k] = $(k + 7); r[NR, k] = $k / $(k + 7) } }
  function med(k, a,   i, j, t, v) { for (i = 1; i <= n; i++) v[i] = a[i, k];
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
  function lo(k,   i, m) { m = r[1, k]; for (i = 2; i <= n; i++) if (r[i, k] < m) m = r[i, k]; return m }
  function hi(k,   i, m) { m = r[1, k]; for (i = 2; i <= n; i++) if (r[i, k] > m) m = r[i, k]; return m }
  END { split("RSA-2048 sign|ECDSA P-256 sign|ECDSA P-256 verify|ECDH P-256|X25519|Ed25519 sign|Ed25519 verify", name, "|");
    printf "| operation | provider ops/s | default ops/s | ratio | range |\n|---|---:|---:|---:|---|\n";
    for (k = 1; k <= 7; k++)
      printf "| %s | %.0f | %.0f | %.1f%% | %.1f-%.1f%% |\n", name[k], med(k, o), med(k, d),
             100 * med(k, r), 100 * lo(k), 100 * hi(k) }' "$tmp/s"
echo
}

want cards || exit 0
# RSA-1024 with 32 async jobs on four modeled cards
cat > "$tmp/peak.c" <<'EOF'
#include <ocf/devices.h>
#include <ocf/ocf.h>
#include <stdio.h>
int main(void) {
  char err[200] = "";
  if (ocf_init(NULL) != 0 || ocf_sim_attach("bcm5820*4", err, sizeof(err)) != 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  printf("%.1f\n", ocf_sim_kpeak_ops(OCF_KOP_MOD_EXP_CRT, 1024));
  ocf_shutdown();
  return 0;
}
EOF
cc -I"$src/include" "$tmp/peak.c" "$build/libocf.a" -lcrypto -lz -lpthread -lm -o "$tmp/peak"
peak=$("$tmp/peak")
echo "## RSA-1024 signatures, -async_jobs 32, four modeled Broadcom 5820 cards (modeled aggregate $peak/s)"
echo "| round | signs/s | of the modeled aggregate |"
echo "|---:|---:|---:|"
i=0
while [ $i -lt "$rounds" ]; do
  s=$(OPENSSL_CONF="$tmp/cards.cnf" "$openssl" speed -mr -elapsed -seconds "$((secs * 3))" -async_jobs 32 rsa1024 2>/dev/null |
      grep '^+F2:' | cut -d: -f4)
  awk -v s="$s" -v p="$peak" -v r="$((i + 1))" 'BEGIN { printf "| %d | %.0f | %.1f%% |\n", r, s, 100 * s / p }'
  i=$((i + 1))
done
