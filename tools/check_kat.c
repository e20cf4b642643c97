/* check_kat.c - the known-answer part of `ocf check`: vectors read from the
 * installed python3-cryptography-vectors files (NIST CAVP .rsp files and the
 * project's "NAME = value" .txt files), run through the framework on the
 * target producer, buffer kinds taking turns. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench.h"
#include "check.h"

enum { MAXF = 24 };

/* rec - the fields of one record (names as in the file, values raw). */
struct rec {
  int n;
  char *name[MAXF], *val[MAXF];
  int section; /* 1 [ENCRYPT], 0 [DECRYPT], -1 none */
  int line;
};

static void rec_clear(struct rec *r) {
  for (int i = 0; i < r->n; i++) {
    free(r->name[i]);
    free(r->val[i]);
  }
  r->n = 0;
}

static const char *rec_get(const struct rec *r, const char *name) {
  for (int i = 0; i < r->n; i++)
    if (strcasecmp(r->name[i], name) == 0) return r->val[i];
  return NULL;
}

/* hex decodes a field into a fresh buffer (at least one byte). */
static uint8_t *hex(const char *s, size_t *len) {
  size_t n = s ? strlen(s) : 0;
  uint8_t *out = malloc(n / 2 + 1);
  if (out == NULL) abort();
  *len = 0;
  if (s == NULL || n % 2) return out;
  for (size_t i = 0; i < n; i += 2) {
    unsigned v;
    if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1]) ||
        sscanf(s + i, "%2x", &v) != 1)
      break;
    out[(*len)++] = (uint8_t)v;
  }
  return out;
}

typedef void (*rec_fn)(const struct rec *r, void *arg);

/* read_file calls fn for every record of path: a record is a group of
 * fields holding the trigger field, ended by a blank line, by the trigger
 * repeated, or by the end of the file.  Returns ENOENT if path is missing. */
static int read_file(const char *path, const char *trigger, rec_fn fn, void *arg, unsigned *left) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return ENOENT;
  struct rec r = {.section = -1};
  char line[1 << 16];
  int lineno = 0, has_trigger = 0;
  while (*left > 0 && fgets(line, sizeof(line), f)) {
    lineno++;
    size_t l = strlen(line);
    while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' ')) line[--l] = 0;
    char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '#') continue;
    if (*p == 0 || *p == '[') {
      if (has_trigger) fn(&r, arg);
      if (has_trigger) rec_clear(&r);
      has_trigger = 0;
      if (strcasecmp(p, "[ENCRYPT]") == 0) r.section = 1;
      if (strcasecmp(p, "[DECRYPT]") == 0) r.section = 0;
      continue;
    }
    char *eq = strchr(p, '=');
    char *name = p, *val = (char *)"";
    if (eq) {
      *eq = 0;
      val = eq + 1;
      while (*val == ' ') val++;
    }
    size_t nl = strlen(name);
    while (nl && name[nl - 1] == ' ') name[--nl] = 0;
    if (strcasecmp(name, trigger) == 0) {
      if (has_trigger) {
        fn(&r, arg);
        rec_clear(&r);
      }
      has_trigger = 1;
      r.line = lineno;
    }
    if (r.n < MAXF) {
      r.name[r.n] = strdup(name);
      r.val[r.n] = strdup(val);
      r.n++;
    }
  }
  if (has_trigger && *left > 0) fn(&r, arg);
  rec_clear(&r);
  fclose(f);
  return 0;
}

/* --- running one vector ---------------------------------------------------- */

struct kat {
  const struct ck_target *t;
  enum ocf_alg alg;
  struct ck_tally *tally;
  const char *file;
  unsigned left; /* vectors still allowed (the cap) */
  unsigned turn; /* buffer kind rotation */
  uint64_t rng;
};

static int kat_session(struct kat *k, const uint8_t *key, size_t keylen, size_t maclen,
                       size_t ivlen, ocf_sid_t *sid) {
  struct ocf_sessparam sp;
  memset(&sp, 0, sizeof(sp));
  sp.alg = k->alg;
  sp.key = key;
  sp.keylen = keylen;
  sp.maclen = maclen;
  sp.ivlen = ivlen;
  char msg[200];
  int e = ck_open(k->t, &sp, sid, msg, sizeof(msg));
  if (e != 0) k->tally->kskipped++;
  return e;
}

static int kat_exec(struct kat *k, ocf_sid_t sid, struct ocf_desc *d, uint8_t *buf, size_t len) {
  enum ocf_buf_type kind = (enum ocf_buf_type)(OCF_BUF_CONTIG + k->turn++ % 3);
  int e = ck_exec(&sid, d, 1, buf, len, NULL, 0, kind, &k->rng, NULL);
  for (int i = 0; i < 1000 && ocf_freesession(sid) == EBUSY; i++) {
  }
  return e;
}

static void kat_result(struct kat *k, const struct rec *r, const uint8_t *got, const uint8_t *want,
                       size_t n) {
  k->left--;
  if (memcmp(got, want, n) == 0)
    k->tally->kpassed++;
  else
    ck_fail(k->tally, 1, "%s:%d: wrong output", k->file, r->line);
}

/* block ciphers and CTR: KEY (or KEY1..3, KEYs), IV, PLAINTEXT, CIPHERTEXT */
static void rec_cipher(const struct rec *r, void *arg) {
  struct kat *k = arg;
  size_t kl = 0, il = 0, pl = 0, cl = 0;
  uint8_t key[64];
  const char *ks = rec_get(r, "KEY");
  if (ks == NULL) ks = rec_get(r, "KEYs");
  if (ks && k->alg == OCF_ALG_3DES_CBC && rec_get(r, "KEYs")) {
    /* KEYs: the same key thrice */
    uint8_t *one = hex(ks, &kl);
    for (int i = 0; i < 3 && kl == 8; i++) memcpy(key + 8 * i, one, 8);
    kl = kl == 8 ? 24 : 0;
    free(one);
  } else if (ks) {
    uint8_t *b = hex(ks, &kl);
    if (kl <= sizeof(key)) memcpy(key, b, kl);
    free(b);
  } else if (rec_get(r, "KEY1")) {
    const char *names[3] = {"KEY1", "KEY2", "KEY3"};
    for (int i = 0; i < 3; i++) {
      size_t l;
      uint8_t *b = hex(rec_get(r, names[i]), &l);
      if (l == 8) memcpy(key + 8 * i, b, 8);
      kl += l;
      free(b);
    }
  }
  const char *ivs = rec_get(r, "IV");
  if (ivs == NULL) ivs = rec_get(r, "i"); /* XTS tweak */
  uint8_t *iv = hex(ivs, &il);
  uint8_t *pt = hex(rec_get(r, rec_get(r, "PT") ? "PT" : "PLAINTEXT"), &pl);
  uint8_t *ct = hex(rec_get(r, rec_get(r, "CT") ? "CT" : "CIPHERTEXT"), &cl);
  long du = rec_get(r, "DataUnitLen") ? atol(rec_get(r, "DataUnitLen")) : -1;
  const struct ocf_alg_info *ai = ocf_alg_lookup(k->alg);
  int enc = r->section != 0;
  ocf_sid_t sid;
  if (!ocf_alg_keylen_ok(k->alg, kl) || il != ai->ivlen || pl != cl || pl == 0 ||
      (du >= 0 && du % 8 != 0) || pl % ai->block != 0) {
    k->tally->kskipped++;
  } else if (kat_session(k, key, kl, 0, 0, &sid) == 0) {
    struct ocf_desc d;
    memset(&d, 0, sizeof(d));
    d.alg = k->alg;
    d.flags = OCF_D_IV_EXPLICIT | (enc ? OCF_D_ENCRYPT : 0);
    d.len = pl;
    memcpy(d.iv, iv, il);
    uint8_t *buf = bench_alloc(pl);
    memcpy(buf, enc ? pt : ct, pl);
    int e = kat_exec(k, sid, &d, buf, pl);
    if (e != 0) {
      k->left--;
      ck_fail(k->tally, 1, "%s:%d: %s", k->file, r->line, ocf_strerror(e));
    } else {
      kat_result(k, r, buf, enc ? ct : pt, pl);
    }
    free(buf);
  }
  memset(key, 0, sizeof(key));
  free(iv);
  free(pt);
  free(ct);
}

/* GCM (.rsp: Key IV PT AAD CT Tag [FAIL]); GMAC takes the GCM vectors
 * without plaintext; ChaCha20-Poly1305 (openssl.txt: Key IV AAD Tag
 * Plaintext Ciphertext [Result = CIPHERFINAL_ERROR]). */
static void rec_aead(const struct rec *r, void *arg) {
  struct kat *k = arg;
  size_t kl, il, al, tl, pl, cl;
  uint8_t *key = hex(rec_get(r, "Key"), &kl), *iv = hex(rec_get(r, "IV"), &il);
  uint8_t *aad = hex(rec_get(r, "AAD"), &al), *tag = hex(rec_get(r, "Tag"), &tl);
  const char *pn = rec_get(r, "PT") ? "PT" : "Plaintext",
             *cn = rec_get(r, "CT") ? "CT" : "Ciphertext";
  uint8_t *pt = hex(rec_get(r, pn), &pl), *ct = hex(rec_get(r, cn), &cl);
  int fail = rec_get(r, "FAIL") != NULL || rec_get(r, "Result") != NULL;
  int is_gmac = k->alg == OCF_ALG_AES_GMAC;
  /* decrypt files have no PT on failing records */
  int enc = !fail && rec_get(r, pn) != NULL && (r->section != 0) && rec_get(r, "FAIL") == NULL &&
            strstr(k->file, "Decrypt") == NULL;
  const struct ocf_alg_info *ai = ocf_alg_lookup(k->alg);
  ocf_sid_t sid;
  int legal = ocf_alg_keylen_ok(k->alg, kl) && il >= ai->min_iv && il <= ai->max_iv &&
              tl >= ai->min_mac && tl <= ai->maclen && (fail || pl == cl);
  if (is_gmac) legal = legal && cl == 0 && pl == 0 && !fail;
  if (!legal) {
    k->tally->kskipped++;
  } else if (kat_session(k, key, kl, tl, il, &sid) == 0) {
    size_t len = is_gmac ? al : cl, total = al + len + tl;
    uint8_t *buf = bench_alloc(total + 1);
    struct ocf_desc d;
    memset(&d, 0, sizeof(d));
    d.alg = k->alg;
    d.flags = OCF_D_IV_EXPLICIT;
    memcpy(d.iv, iv, il);
    if (is_gmac) {
      memcpy(buf, aad, al);
      d.len = al;
      d.inject = al;
    } else {
      memcpy(buf, aad, al);
      memcpy(buf + al, enc ? pt : ct, len);
      if (!enc) memcpy(buf + al + len, tag, tl);
      d.flags |= enc ? OCF_D_ENCRYPT : 0;
      d.aad_len = al;
      d.skip = al;
      d.len = len;
      d.inject = al + len;
    }
    int e = kat_exec(k, sid, &d, buf, total);
    if (fail) {
      k->left--;
      if (e == EBADMSG)
        k->tally->kpassed++;
      else
        ck_fail(k->tally, 1, "%s:%d: forged tag accepted (%s)", k->file, r->line,
                e ? ocf_strerror(e) : "success");
    } else if (e != 0) {
      k->left--;
      ck_fail(k->tally, 1, "%s:%d: %s", k->file, r->line, ocf_strerror(e));
    } else if (is_gmac) {
      kat_result(k, r, buf + al, tag, tl);
    } else if (enc) {
      uint8_t *want = bench_alloc(len + tl + 1);
      memcpy(want, ct, len);
      memcpy(want + len, tag, tl);
      kat_result(k, r, buf + al, want, len + tl);
      free(want);
    } else {
      kat_result(k, r, buf + al, pt, len);
    }
    free(buf);
  }
  memset(key, 0, kl);
  free(key);
  free(iv);
  free(aad);
  free(tag);
  free(pt);
  free(ct);
}

/* HMACs (Key Msg MD) and hashes (Len in bits, Msg, MD) */
static void rec_mac(const struct rec *r, void *arg) {
  struct kat *k = arg;
  size_t kl = 0, ml, dl;
  uint8_t *key = hex(rec_get(r, "Key"), &kl), *msg = hex(rec_get(r, "Msg"), &ml);
  uint8_t *md = hex(rec_get(r, "MD"), &dl);
  const char *lens = rec_get(r, "Len");
  const struct ocf_alg_info *ai = ocf_alg_lookup(k->alg);
  if (lens && ai->max_key == 0) {
    long bits = atol(lens);
    if (bits % 8 == 0 && (size_t)(bits / 8) <= ml)
      ml = (size_t)bits / 8;
    else
      ml = (size_t)-1;
  }
  ocf_sid_t sid;
  if (ml == (size_t)-1 || dl == 0 || dl > ai->maclen || dl < ai->min_mac ||
      (ai->max_key && !ocf_alg_keylen_ok(k->alg, kl))) {
    k->tally->kskipped++;
  } else if (kat_session(k, key, kl, dl, 0, &sid) == 0) {
    uint8_t *buf = bench_alloc(ml + dl + 1);
    memcpy(buf, msg, ml);
    struct ocf_desc d;
    memset(&d, 0, sizeof(d));
    d.alg = k->alg;
    d.len = ml;
    d.inject = ml;
    int e = kat_exec(k, sid, &d, buf, ml + dl);
    if (e != 0) {
      k->left--;
      ck_fail(k->tally, 1, "%s:%d: %s", k->file, r->line, ocf_strerror(e));
    } else {
      kat_result(k, r, buf + ml, md, dl);
    }
    free(buf);
  }
  memset(key, 0, kl);
  free(key);
  free(msg);
  free(md);
}

struct source {
  enum ocf_alg alg;
  const char *trigger;
  rec_fn fn;
  const char *files[8];
};

static const struct source sources[] = {
    {OCF_ALG_DES_CBC,
     "COUNT",
     rec_cipher,
     {"ciphers/3DES/CBC/TCBCvarkey.rsp", "ciphers/3DES/CBC/TCBCinvperm.rsp",
      "ciphers/3DES/CBC/TCBCvartext.rsp"}},
    {OCF_ALG_3DES_CBC,
     "COUNT",
     rec_cipher,
     {"ciphers/3DES/CBC/TCBCMMT3.rsp", "ciphers/3DES/CBC/TCBCMMT2.rsp",
      "ciphers/3DES/CBC/TCBCsubtab.rsp"}},
    {OCF_ALG_AES_CBC,
     "COUNT",
     rec_cipher,
     {"ciphers/AES/CBC/CBCMMT128.rsp", "ciphers/AES/CBC/CBCMMT192.rsp",
      "ciphers/AES/CBC/CBCMMT256.rsp", "ciphers/AES/CBC/CBCGFSbox128.rsp",
      "ciphers/AES/CBC/CBCKeySbox256.rsp", "ciphers/AES/CBC/CBCVarTxt192.rsp"}},
    {OCF_ALG_AES_CTR,
     "COUNT",
     rec_cipher,
     {"ciphers/AES/CTR/aes-128-ctr.txt", "ciphers/AES/CTR/aes-192-ctr.txt",
      "ciphers/AES/CTR/aes-256-ctr.txt"}},
    {OCF_ALG_AES_XTS,
     "COUNT",
     rec_cipher,
     {"ciphers/AES/XTS/tweak-128hexstr/XTSGenAES128.rsp",
      "ciphers/AES/XTS/tweak-128hexstr/XTSGenAES256.rsp"}},
    {OCF_ALG_BLOWFISH_CBC, "COUNT", rec_cipher, {"ciphers/Blowfish/bf-cbc.txt"}},
    {OCF_ALG_CAST5_CBC, "COUNT", rec_cipher, {"ciphers/CAST5/cast5-cbc.txt"}},
    {OCF_ALG_AES_GCM,
     "Count",
     rec_aead,
     {"ciphers/AES/GCM/gcmEncryptExtIV128.rsp", "ciphers/AES/GCM/gcmDecrypt128.rsp",
      "ciphers/AES/GCM/gcmEncryptExtIV256.rsp", "ciphers/AES/GCM/gcmDecrypt256.rsp",
      "ciphers/AES/GCM/gcmEncryptExtIV192.rsp"}},
    {OCF_ALG_AES_GMAC,
     "Count",
     rec_aead,
     {"ciphers/AES/GCM/gcmEncryptExtIV128.rsp", "ciphers/AES/GCM/gcmEncryptExtIV256.rsp"}},
    {OCF_ALG_CHACHA20_POLY1305, "COUNT", rec_aead, {"ciphers/ChaCha20Poly1305/openssl.txt"}},
    {OCF_ALG_HMAC_MD5, "Len", rec_mac, {"HMAC/rfc-2202-md5.txt"}},
    {OCF_ALG_HMAC_SHA1, "Len", rec_mac, {"HMAC/rfc-2202-sha1.txt"}},
    {OCF_ALG_HMAC_SHA2_224, "Len", rec_mac, {"HMAC/rfc-4231-sha224.txt"}},
    {OCF_ALG_HMAC_SHA2_256, "Len", rec_mac, {"HMAC/rfc-4231-sha256.txt"}},
    {OCF_ALG_HMAC_SHA2_384, "Len", rec_mac, {"HMAC/rfc-4231-sha384.txt"}},
    {OCF_ALG_HMAC_SHA2_512, "Len", rec_mac, {"HMAC/rfc-4231-sha512.txt"}},
    {OCF_ALG_MD5, "Len", rec_mac, {"hashes/MD5/rfc-1321.txt"}},
    {OCF_ALG_SHA1, "Len", rec_mac, {"hashes/SHA1/SHA1ShortMsg.rsp"}},
    {OCF_ALG_SHA2_224, "Len", rec_mac, {"hashes/SHA2/SHA224ShortMsg.rsp"}},
    {OCF_ALG_SHA2_256, "Len", rec_mac, {"hashes/SHA2/SHA256ShortMsg.rsp"}},
    {OCF_ALG_SHA2_384, "Len", rec_mac, {"hashes/SHA2/SHA384ShortMsg.rsp"}},
    {OCF_ALG_SHA2_512, "Len", rec_mac, {"hashes/SHA2/SHA512ShortMsg.rsp"}},
};

int ck_kat_run(const char *dir, const struct ck_target *t, enum ocf_alg alg, unsigned cap,
               struct ck_tally *tally) {
  const struct source *src = NULL;
  for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
    if (sources[i].alg == alg) src = &sources[i];
  if (src == NULL || dir == NULL) return ENOENT;
  struct kat k = {.t = t, .alg = alg, .tally = tally, .left = cap, .rng = 0x9e3779b97f4a7c15ull};
  int files = 0;
  /* spread the cap over the files so that each contributes */
  int nfiles = 0;
  while (nfiles < 8 && src->files[nfiles]) nfiles++;
  for (int i = 0; i < nfiles && k.left > 0; i++) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, src->files[i]);
    unsigned share = (k.left + (unsigned)(nfiles - i) - 1) / (unsigned)(nfiles - i);
    unsigned rest = k.left - share;
    k.left = share;
    k.file = src->files[i];
    if (read_file(path, src->trigger, src->fn, &k, &k.left) == 0) files++;
    k.left += rest;
  }
  return files ? 0 : ENOENT;
}
