/* check.h - shared between the parts of `ocf check`: the OpenSSL reference,
 * the vector-file reader and the per-(producer, algorithm) tallies. */
#ifndef OCF_TOOLS_CHECK_H
#define OCF_TOOLS_CHECK_H

#include <ocf/ocf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ck_target - the producer a check is aimed at. */
struct ck_target {
  uint32_t hid;
  char name[32];
  unsigned sess_flags; /* OCF_SESS_HWONLY or OCF_SESS_SWONLY */
};

/* ck_tally - counts for one (producer, algorithm). */
struct ck_tally {
  unsigned passed, failed, skipped;    /* random trials */
  unsigned kpassed, kfailed, kskipped; /* known-answer vectors */
  int reported;                        /* failures printed so far (capped) */
  int verbose;
  const char *producer, *alg;
};

/* ck_fail counts a failure and prints it (the first few per tally). */
void ck_fail(struct ck_tally *t, int kat, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ck_open creates a session for chain that lands on target t (retrying while
 * the balancing policy picks another producer of the same kind).  ENODEV with
 * msg set when it cannot. */
int ck_open(const struct ck_target *t, const struct ocf_sessparam *chain, ocf_sid_t *sid, char *msg,
            size_t msglen);

/* ck_exec runs one request over flat[len] through the framework: the bytes
 * are scattered into a buffer of the given kind (split at random points for
 * iovec and mbuf), in place or into a separate output of outlen bytes
 * (out != NULL, pre-filled by the caller), and gathered back.  *sid follows
 * migrations.  Returns the request's error; *olen gets req.olen. */
int ck_exec(ocf_sid_t *sid, struct ocf_desc *d, int nd, uint8_t *flat, size_t len, uint8_t *out,
            size_t outlen, enum ocf_buf_type kind, uint64_t *rng, size_t *olen);

/* rng helpers (xorshift*, reproducible from --seed) */
uint64_t ck_rand(uint64_t *s);
size_t ck_range(uint64_t *s, size_t lo, size_t hi); /* uniform in [lo, hi] */
void ck_fill(uint64_t *s, uint8_t *p, size_t n);

/* --- reference computations (check_ref.c), straight OpenSSL --------------- */

/* ck_ref_cipher en/decrypts in[len] into out (no padding).  NULL copies. */
int ck_ref_cipher(enum ocf_alg alg, int enc, const uint8_t *key, size_t keylen, const uint8_t *iv,
                  const uint8_t *in, size_t len, uint8_t *out);
/* ck_ref_aead_seal encrypts pt[len] with aad, writing ct and a tag of taglen. */
int ck_ref_aead_seal(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv,
                     size_t ivlen, const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t len,
                     uint8_t *ct, uint8_t *tag, size_t taglen);
/* ck_ref_aead_open decrypts; returns 0, or EBADMSG when the tag is wrong. */
int ck_ref_aead_open(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv,
                     size_t ivlen, const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t len,
                     const uint8_t *tag, size_t taglen, uint8_t *pt);
/* ck_ref_mac computes the full MAC / digest of msg into mac (up to 64
 * bytes); iv is used by GMAC only. */
int ck_ref_mac(enum ocf_alg alg, const uint8_t *key, size_t keylen, const uint8_t *iv, size_t ivlen,
               const uint8_t *msg, size_t len, uint8_t *mac);
/* ck_ref_deflate / ck_ref_inflate: raw DEFLATE with zlib.  *olen in: room. */
int ck_ref_deflate(const uint8_t *in, size_t len, uint8_t *out, size_t *olen);
int ck_ref_inflate(const uint8_t *in, size_t len, uint8_t *out, size_t *olen);

/* --- public-key references (check_pk.c) ---------------------------------- */
#include <openssl/bn.h>

struct ck_kresult {
  unsigned lines, failed_lines, trials;
};

/* ck_check_kops runs random trials of every public-key operation producer t
 * registered (those named in algs, NULL = all) and prints one line each. */
struct ck_kresult ck_check_kops(const struct ck_target *t, int trials, uint64_t *rng, int verbose,
                                int quiet, const char *algs, FILE *tf, FILE *json, int *json_first);

/* ck_rsa - an RSA key with its CRT parameters (cached per size; owned by
 * check_pk.c, freed at exit). */
struct ck_rsa {
  int bits;
  BIGNUM *n, *e, *d, *p, *q, *dp, *dq, *qinv;
};
const struct ck_rsa *ck_rsa_get(int bits);

/* ck_dsa - DSA domain parameters (cached per size). */
struct ck_dsa {
  int bits;
  BIGNUM *p, *q, *g;
};
const struct ck_dsa *ck_dsa_get(int bits);

/* ck_ec_trial runs one random trial of elliptic-curve operation op (ECDSA,
 * ECDH, X25519, Ed25519: check_ec.c) against OpenSSL, malformed inputs
 * included, counting into t.  Returns 0 when op is not one of them. */
struct ck_tally;
int ck_ec_trial(enum ocf_kop op, struct ck_tally *t, uint64_t *rng);

/* ck_kp_bn makes kp the integer bn, little-endian into buf (room bytes). */
struct ocf_kparam;
void ck_kp_bn(struct ocf_kparam *kp, uint8_t *buf, size_t room, const BIGNUM *bn);
/* ck_kp_get reads an (output) parameter back as a BIGNUM (caller frees). */
BIGNUM *ck_kp_get(const struct ocf_kparam *kp);

/* ck_in_list: is name one of the comma-separated items of list (NULL = all)? */
int ck_in_list(const char *list, const char *name);
/* ck_json_line writes one result object of `ocf check --json`. */
void ck_json_line(FILE *f, int *first, const char *producer, const char *alg,
                  const struct ck_tally *t, const char *result);

/* --- known answers (check_kat.c) ------------------------------------------ */

/* ck_kat_run runs the known-answer vectors of alg found under dir on target
 * t, at most cap of them, adding to tally.  Returns 0, or ENOENT when there
 * are no vectors for alg (or no dir). */
int ck_kat_run(const char *dir, const struct ck_target *t, enum ocf_alg alg, unsigned cap,
               struct ck_tally *tally);

#endif /* OCF_TOOLS_CHECK_H */
