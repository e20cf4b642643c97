/* pkvec.c - the public-key known-answer tests' reader of vector files
 * (pkvec.h) and the helpers that turn their fields into inputs. */
#include "pkvec.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* cmocka.h needs the headers above */
// clang-format off
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "vectors.h"

char *kv_trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}

int kvrd_open(struct kvrd *r, const char *rel) {
  char path[1024];
  memset(r, 0, sizeof(*r));
  snprintf(path, sizeof(path), "%s/%s", ocf_vec_dir(), rel);
  r->rel = rel;
  r->f = fopen(path, "r");
  if (r->f == NULL) print_error("cannot open %s\n", path);
  return r->f != NULL;
}

void kvrd_close(struct kvrd *r) {
  if (r->f != NULL) fclose(r->f);
  for (int i = 0; i < r->n; i++) free(r->val[i]);
  free(r->line);
}

const char *kvrd_get(const struct kvrd *r, const char *name) {
  for (int i = 0; i < r->n; i++)
    if (strcmp(r->name[i], name) == 0) return r->val[i];
  return NULL;
}

static void kvrd_set(struct kvrd *r, const char *name, const char *val) {
  int i;
  for (i = 0; i < r->n; i++)
    if (strcmp(r->name[i], name) == 0) break;
  if (i == r->n) {
    assert_true(r->n < KVRD_FIELDS);
    snprintf(r->name[r->n++], sizeof(r->name[0]), "%s", name);
  } else {
    free(r->val[i]);
  }
  r->val[i] = strdup(val);
  assert_non_null(r->val[i]);
}

int kvrd_next(struct kvrd *r, const char *last) {
  while (getline(&r->line, &r->cap, r->f) >= 0) {
    r->lineno++;
    char *s = kv_trim(r->line);
    if (*s == '\0' || *s == '#') continue;
    if (*s == '[') {
      char *e = strrchr(s, ']');
      if (e != NULL) *e = '\0';
      snprintf(r->hdr, sizeof(r->hdr), "%s", s + 1);
      continue;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL) continue;
    *eq = '\0';
    char *name = kv_trim(s), *val = kv_trim(eq + 1);
    kvrd_set(r, name, val);
    if (strcmp(name, last) == 0) return 1;
  }
  return 0;
}

uint8_t *kv_unhex(const char *s, size_t *len) {
  size_t n = strlen(s);
  uint8_t *b = malloc(n / 2 + 1);
  assert_non_null(b);
  assert_true(n % 2 == 0);
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
    b[i] = (uint8_t)v;
  }
  *len = n / 2;
  return b;
}

BIGNUM *kv_bn_hex(const char *s) {
  BIGNUM *bn = NULL;
  assert_non_null(s);
  assert_true(BN_hex2bn(&bn, s) > 0);
  return bn;
}

const char *kv_md_of(const char *s) {
  static const char *const names[][2] = {
      {"SHA-1", "SHA1"},     {"SHA1", "SHA1"},     {"SHA-224", "SHA224"}, {"SHA224", "SHA224"},
      {"SHA-256", "SHA256"}, {"SHA256", "SHA256"}, {"SHA-384", "SHA384"}, {"SHA384", "SHA384"},
      {"SHA-512", "SHA512"}, {"SHA512", "SHA512"}};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strstr(s, names[i][0]) != NULL) {
      const char *after = strstr(s, names[i][0]) + strlen(names[i][0]);
      if (!isdigit((unsigned char)*after)) return names[i][1]; /* "SHA1" must not match "SHA12" */
    }
  return NULL;
}

size_t kv_hash(const char *md, const uint8_t *m, size_t len, uint8_t *out) {
  unsigned n = 0;
  EVP_MD *t = EVP_MD_fetch(NULL, md, NULL);
  assert_non_null(t);
  assert_true(EVP_Digest(m, len, out, &n, t, NULL));
  EVP_MD_free(t);
  return n;
}

/* 00 01 ff.. 00 DigestInfo digest */
void kv_emsa_pkcs1(const char *md, const uint8_t *msg, size_t mlen, uint8_t *em, size_t k) {
  static const struct {
    const char *md;
    uint8_t prefix[19];
    size_t len;
  } di[] = {
      {"SHA1",
       {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
       15},
      {"SHA224",
       {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04,
        0x05, 0x00, 0x04, 0x1c},
       19},
      {"SHA256",
       {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20},
       19},
      {"SHA384",
       {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
        0x05, 0x00, 0x04, 0x30},
       19},
      {"SHA512",
       {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
        0x05, 0x00, 0x04, 0x40},
       19},
  };
  uint8_t h[64];
  size_t hl = kv_hash(md, msg, mlen, h);
  size_t i;
  for (i = 0; i < sizeof(di) / sizeof(di[0]); i++)
    if (strcmp(di[i].md, md) == 0) break;
  assert_true(i < sizeof(di) / sizeof(di[0]));
  size_t tlen = di[i].len + hl;
  assert_true(k >= tlen + 11);
  em[0] = 0x00;
  em[1] = 0x01;
  memset(em + 2, 0xff, k - tlen - 3);
  em[k - tlen - 1] = 0x00;
  memcpy(em + k - tlen, di[i].prefix, di[i].len);
  memcpy(em + k - hl, h, hl);
}
