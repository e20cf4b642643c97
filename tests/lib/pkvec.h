/* pkvec.h - reading the public-key vector files of
 * python3-cryptography-vectors for test_kat_pk.c.  Unlike vectors.h's
 * reader, whose records end at a blank line, a kvrd keeps every field until
 * the field appears again, so that per-group fields (n, P, Q, G) stand for
 * every record after them, and a record ends with the field its caller
 * names.  Malformed input fails the running cmocka test. */
#ifndef OCF_TESTS_PKVEC_H
#define OCF_TESTS_PKVEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/bn.h>

#define KVRD_FIELDS 40

/* kvrd - "NAME = value" lines; a field keeps its value until it appears again,
 * so per-group fields (n, P, Q, G) are there for every record after them. */
struct kvrd {
  FILE *f;
  const char *rel;
  char *line;
  size_t cap;
  int lineno;
  char hdr[256]; /* the last "[...]" line, without the brackets */
  int n;
  char name[KVRD_FIELDS][32];
  char *val[KVRD_FIELDS];
};

/* kvrd_open opens rel under the vectors root (ocf_vec_dir); 0 after
 * printing why when it cannot. */
int kvrd_open(struct kvrd *r, const char *rel);
/* kvrd_next reads up to and including the next line that sets field last;
 * 1 then, 0 at the end of the file. */
int kvrd_next(struct kvrd *r, const char *last);
/* kvrd_get: the field's latest value, or NULL if it has not appeared. */
const char *kvrd_get(const struct kvrd *r, const char *name);
void kvrd_close(struct kvrd *r);

/* kv_trim strips leading and trailing white space, in place. */
char *kv_trim(char *s);
/* kv_unhex decodes hex into a new buffer (the caller frees it). */
uint8_t *kv_unhex(const char *s, size_t *len);
/* kv_bn_hex: a new BIGNUM from hex. */
BIGNUM *kv_bn_hex(const char *s);
/* kv_md_of finds "SHA-256", "SHA256", "SHA1"... in s and returns OpenSSL's
 * name for it, or NULL. */
const char *kv_md_of(const char *s);
/* kv_hash digests m with md into out; returns the digest's length. */
size_t kv_hash(const char *md, const uint8_t *m, size_t len, uint8_t *out);
/* kv_emsa_pkcs1: EMSA-PKCS1-v1_5 (RFC 8017 9.2) of msg into em[k]. */
void kv_emsa_pkcs1(const char *md, const uint8_t *msg, size_t mlen, uint8_t *em, size_t k);

#endif
