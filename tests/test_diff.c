/*
 * test_diff.c - differential tests: random requests run through the framework
 * (consumer API only) and, on a flat copy, through direct OpenSSL / zlib calls
 * (tests/lib/ref.c); the outputs must agree byte for byte under every buffer
 * layout: contiguous (in place, separate output, odd addresses), iovec lists
 * and mbuf chains split evenly, unevenly, into single bytes, with empty
 * segments and through cipher blocks, IVs, AAD and MACs, with separate
 * outputs of the same or of another buffer type.
 *
 * $OCF_TEST_SEED reproduces a run (the seed is printed); $OCF_TEST_SCALE
 * divides the iteration counts.  The machinery (layouts, running and
 * checking a case) is in tests/lib/diffcase.c; here are the categories.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* cmocka.h needs the headers above */
// clang-format off
#include <cmocka.h>
// clang-format on

#include "diffcase.h"

/* --- categories ------------------------------------------------------------ */

static const enum ocf_alg ciphers[] = {OCF_ALG_NULL,         OCF_ALG_DES_CBC,  OCF_ALG_3DES_CBC,
                                       OCF_ALG_AES_CBC,      OCF_ALG_AES_CTR,  OCF_ALG_AES_XTS,
                                       OCF_ALG_BLOWFISH_CBC, OCF_ALG_CAST5_CBC};
static const enum ocf_alg aeads[] = {OCF_ALG_AES_GCM, OCF_ALG_AES_CCM, OCF_ALG_CHACHA20_POLY1305};
static const enum ocf_alg macs[] = {
    OCF_ALG_HMAC_MD5,      OCF_ALG_HMAC_SHA1,     OCF_ALG_HMAC_SHA2_224, OCF_ALG_HMAC_SHA2_256,
    OCF_ALG_HMAC_SHA2_384, OCF_ALG_HMAC_SHA2_512, OCF_ALG_MD5,           OCF_ALG_SHA1,
    OCF_ALG_SHA2_224,      OCF_ALG_SHA2_256,      OCF_ALG_SHA2_384,      OCF_ALG_SHA2_512,
    OCF_ALG_AES_GMAC};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* a cipher descriptor over [skip, skip+len) with the IV per ivmode */
static void cipher_regions(struct dcase *c, enum ocf_alg alg, size_t len, int ivmode, size_t hdr,
                           struct ocf_desc *d) {
  size_t ivlen = ref_alg_ivlen(alg);
  int ivbuf = ivlen > 0 && ivmode != 0;
  size_t gap = len ? ref_range(&diff_rng, 0, 3) : 0;
  int iv_after = ivbuf && ref_rand(&diff_rng) % 4 == 0;
  size_t off = hdr;
  memset(d, 0, sizeof(*d));
  d->alg = alg;
  d->flags = OCF_D_ENCRYPT | (ivlen ? diff_iv_flags(ivmode) : 0);
  if (ivbuf && !iv_after) {
    d->iv_off = off;
    off += ivlen + gap;
  }
  d->skip = off;
  d->len = len;
  off += len;
  if (ivbuf && iv_after) {
    d->iv_off = off + gap;
    off = d->iv_off + ivlen;
  }
  if (ivlen && ivmode == 0) ref_fill(&diff_rng, d->iv, ivlen);
  c->n = off;
}

static void test_cipher(void **state) {
  (void)state;
  struct cat_stats st;
  diff_begin(&st, "cipher");
  for (size_t a = 0; a < NELEM(ciphers); a++) {
    enum ocf_alg alg = ciphers[a];
    for (int k = 0; k < diff_iters(150); k++) {
      struct dcase c;
      memset(&c, 0, sizeof(c));
      c.cat = "cipher";
      c.caseno = k;
      c.what = "enc";
      diff_set_param(&c, 0, alg);
      if (diff_open_session(&c) != 0) continue;
      st.cases++;
      size_t len = diff_pick_len(ref_alg_block(alg), alg == OCF_ALG_AES_XTS ? 16 : 0);
      int ivmode = (int)ref_range(&diff_rng, 0, 2);
      c.nd = 1;
      cipher_regions(&c, alg, len, ivmode, ref_range(&diff_rng, 0, 9), &c.d[0]);
      c.n += ref_range(&diff_rng, 1, 8);
      diff_alloc_bufs(&c);
      uint8_t *res = NULL;
      diff_run_all(&c, &res, NULL);
      if (res != NULL) {
        struct dcase dc;
        diff_derive(&dc, &c, res, "dec");
        dc.d[0].flags &= ~OCF_D_ENCRYPT;
        diff_iv_for_decrypt(&dc.d[0], &c.d[0]);
        uint8_t *back = NULL;
        diff_run_all(&dc, &back, NULL);
        /* the round trip restores the plaintext (checks the reference too) */
        if (back && memcmp(back + c.d[0].skip, c.in + c.d[0].skip, len) != 0)
          diff_report(&dc, &diff_layouts[0], "decrypt(encrypt(x)) != x");
        free(back);
        diff_free_derived(&dc);
      }
      free(res);
      diff_close_case(&c);
    }
  }
  diff_end(&st);
}

static void test_aead(void **state) {
  (void)state;
  struct cat_stats st;
  diff_begin(&st, "aead");
  for (size_t a = 0; a < NELEM(aeads); a++) {
    enum ocf_alg alg = aeads[a];
    for (int k = 0; k < diff_iters(250); k++) {
      struct dcase c;
      memset(&c, 0, sizeof(c));
      c.cat = "aead";
      c.caseno = k;
      c.what = "enc";
      diff_set_param(&c, 0, alg);
      if (diff_open_session(&c) != 0) continue;
      st.cases++;
      size_t ivlen = ref_ivlen(&c.sp[0]), maclen = ref_maclen(&c.sp[0]);
      size_t len = diff_pick_len(1, 0);
      size_t aadlen = ref_rand(&diff_rng) % 4 == 0   ? 0
                      : ref_rand(&diff_rng) % 8 == 0 ? ref_range(&diff_rng, 65, 700)
                                                     : ref_range(&diff_rng, 1, 64);
      int ivmode = (int)ref_range(&diff_rng, 0, 2);
      /* the framework generates AEAD nonces of 8 bytes or more only
       * (test_nonce checks the refusal) */
      if (ivmode == 2 && ivlen < 8) ivmode = 1;
      struct ocf_desc *d = &c.d[0];
      c.nd = 1;
      d->alg = alg;
      d->flags = OCF_D_ENCRYPT | diff_iv_flags(ivmode);
      if (ivmode == 0) ref_fill(&diff_rng, d->iv, ivlen);
      /* regions in a random order: 0 IV, 1 AAD, 2 data, 3 tag */
      int order[4] = {0, 1, 2, 3};
      switch (ref_rand(&diff_rng) % 4) {
        case 1: /* AAD first (ESP: SPI+seq) */
          order[0] = 1;
          order[1] = 0;
          break;
        case 2: /* tag before the data */
          order[2] = 3;
          order[3] = 2;
          break;
        case 3: /* data, tag, then AAD and IV trailing */
          order[0] = 2;
          order[1] = 3;
          order[2] = 1;
          order[3] = 0;
          break;
      }
      size_t off = ref_range(&diff_rng, 0, 9);
      for (int i = 0; i < 4; i++) {
        switch (order[i]) {
          case 0:
            if (ivmode == 0) continue;
            d->iv_off = off;
            off += ivlen;
            break;
          case 1:
            d->aad_skip = off;
            d->aad_len = aadlen;
            off += aadlen;
            break;
          case 2:
            d->skip = off;
            d->len = len;
            off += len;
            break;
          case 3:
            d->inject = off;
            off += maclen;
            break;
        }
        off += ref_range(&diff_rng, 0, 3);
      }
      /* empty regions sit on the tag, so the output hull does not depend on
       * whether a framework counts them */
      if (len == 0) d->skip = d->inject;
      if (aadlen == 0) d->aad_skip = d->inject;
      c.n = off + ref_range(&diff_rng, 1, 8);
      diff_alloc_bufs(&c);
      uint8_t *res = NULL;
      diff_run_all(&c, &res, NULL);
      if (res != NULL) {
        struct dcase dc;
        diff_derive(&dc, &c, res, "dec");
        dc.d[0].flags &= ~OCF_D_ENCRYPT;
        diff_iv_for_decrypt(&dc.d[0], d);
        uint8_t *back = NULL;
        diff_run_all(&dc, &back, NULL);
        if (back && memcmp(back + d->skip, c.in + d->skip, len) != 0)
          diff_report(&dc, &diff_layouts[0], "decrypt(encrypt(x)) != x");
        free(back);
        /* tampered tag, ciphertext or AAD: EBADMSG */
        struct dcase tc;
        diff_derive(&tc, &dc, dc.in, "tamper");
        int where = (int)ref_range(&diff_rng, 0, 2);
        if (where == 1 && len)
          diff_flip(tc.in, d->skip, len);
        else if (where == 2 && aadlen)
          diff_flip(tc.in, d->aad_skip, aadlen);
        else
          diff_flip(tc.in, d->inject, maclen);
        diff_run_some(&tc, 3);
        diff_free_derived(&tc);
        diff_free_derived(&dc);
      }
      free(res);
      diff_close_case(&c);
    }
  }
  diff_end(&st);
}

static void test_mac(void **state) {
  (void)state;
  struct cat_stats st;
  diff_begin(&st, "mac");
  for (size_t a = 0; a < NELEM(macs); a++) {
    enum ocf_alg alg = macs[a];
    for (int k = 0; k < diff_iters(100); k++) {
      struct dcase c;
      memset(&c, 0, sizeof(c));
      c.cat = "mac";
      c.caseno = k;
      c.what = "gen";
      diff_set_param(&c, 0, alg);
      if (diff_open_session(&c) != 0) continue;
      st.cases++;
      size_t ivlen = ref_ivlen(&c.sp[0]), maclen = ref_maclen(&c.sp[0]);
      size_t len = diff_pick_len(1, 0);
      struct ocf_desc *d = &c.d[0];
      c.nd = 1;
      d->alg = alg;
      size_t off = ref_range(&diff_rng, 0, 9);
      if (ivlen) {
        if (ref_rand(&diff_rng) % 2) {
          d->flags |= OCF_D_IV_EXPLICIT;
          ref_fill(&diff_rng, d->iv, ivlen);
        } else {
          d->flags |= OCF_D_IV_PRESENT;
          d->iv_off = off;
          off += ivlen + ref_range(&diff_rng, 0, 2);
        }
      }
      if (ref_rand(&diff_rng) % 4 == 0) { /* MAC before the data */
        d->inject = off;
        off += maclen + ref_range(&diff_rng, 0, 3);
        d->skip = off;
        off += len;
      } else {
        d->skip = off;
        off += len + ref_range(&diff_rng, 0, 3);
        d->inject = off;
        off += maclen;
      }
      if (len == 0) d->skip = d->inject;
      d->len = len;
      c.n = off + ref_range(&diff_rng, 1, 8);
      diff_alloc_bufs(&c);
      uint8_t *res = NULL;
      diff_run_all(&c, &res, NULL);
      if (res != NULL) {
        struct dcase vc;
        diff_derive(&vc, &c, res, "verify");
        vc.d[0].flags |= OCF_D_VERIFY;
        diff_run_all(&vc, NULL, NULL);
        struct dcase tc;
        diff_derive(&tc, &vc, vc.in, "tamper");
        if (len && ref_rand(&diff_rng) % 2)
          diff_flip(tc.in, d->skip, len);
        else
          diff_flip(tc.in, d->inject, maclen);
        diff_run_some(&tc, 3);
        diff_free_derived(&tc);
        diff_free_derived(&vc);
      }
      free(res);
      diff_close_case(&c);
    }
  }
  diff_end(&st);
}

/* chain: encrypt-then-MAC (mte = 0) or MAC-then-encrypt (mte = 1) */
static void chain_case(int mte, int k) {
  struct dcase c;
  memset(&c, 0, sizeof(c));
  c.cat = mte ? "mte" : "etm";
  c.caseno = k;
  c.what = "enc";
  enum ocf_alg calg = ciphers[ref_rand(&diff_rng) % NELEM(ciphers)];
  enum ocf_alg malg = macs[ref_rand(&diff_rng) % (NELEM(macs) - 1)]; /* GMAC excluded */
  diff_set_param(&c, 0, calg);
  diff_set_param(&c, 1, malg);
  size_t maclen = ref_maclen(&c.sp[1]);
  if (diff_open_session(&c) != 0) return;
  diff_cur->cases++;
  size_t blk = ref_alg_block(calg), ivlen = ref_alg_ivlen(calg);
  int ivmode = (int)ref_range(&diff_rng, 0, 2);
  struct ocf_desc cd, md;
  memset(&md, 0, sizeof(md));
  md.alg = malg;
  size_t hdr = ref_range(&diff_rng, 0, 12);
  if (!mte) {
    size_t len = diff_pick_len(blk, calg == OCF_ALG_AES_XTS ? 16 : 0);
    cipher_regions(&c, calg, len, ivmode, hdr, &cd);
    /* MAC from the start of the header, the IV or the data to the data's end */
    size_t from[3] = {0, hdr, cd.skip};
    md.skip = from[ref_rand(&diff_rng) % 3];
    if (md.skip > cd.skip) md.skip = cd.skip;
    md.len = c.n - md.skip; /* also covers an IV placed after the data */
    md.inject = c.n + (md.len ? ref_range(&diff_rng, 0, 3) : 0);
    if (md.len == 0 && cd.len == 0) md.skip = cd.skip = md.inject;
    c.n = md.inject + maclen;
    c.d[0] = cd;
    c.d[1] = md;
  } else {
    /* [IV][hdr][data | MAC | pad]: the IV stays outside the MAC, which runs
     * before the cipher has generated it */
    size_t len = diff_pick_len(1, 0);
    size_t clen = len + maclen;
    if (blk > 1) clen = (clen + blk - 1) / blk * blk;
    if (calg == OCF_ALG_AES_XTS && clen < 16) clen = 16;
    memset(&cd, 0, sizeof(cd));
    cd.alg = calg;
    cd.flags = OCF_D_ENCRYPT | (ivlen ? diff_iv_flags(ivmode) : 0);
    size_t off = ref_range(&diff_rng, 0, 5);
    if (ivlen && ivmode != 0) {
      cd.iv_off = off;
      off += ivlen;
    }
    if (ivlen && ivmode == 0) ref_fill(&diff_rng, cd.iv, ivlen);
    size_t hstart = off;
    off += hdr;
    cd.skip = off;
    cd.len = clen;
    md.skip = ref_rand(&diff_rng) % 2 ? hstart : cd.skip;
    md.len = cd.skip + len - md.skip;
    md.inject = cd.skip + len;
    if (md.len == 0) md.skip = md.inject;
    c.n = cd.skip + clen;
    c.d[0] = md;
    c.d[1] = cd;
  }
  c.nd = 2;
  c.n += ref_range(&diff_rng, 1, 8);
  diff_alloc_bufs(&c);
  uint8_t *res = NULL;
  diff_run_all(&c, &res, NULL);
  if (res != NULL) {
    struct dcase dc;
    diff_derive(&dc, &c, res, "dec");
    struct ocf_desc dcd = cd, dmd = md;
    dcd.flags &= ~OCF_D_ENCRYPT;
    diff_iv_for_decrypt(&dcd, &cd);
    dmd.flags |= OCF_D_VERIFY;
    if (!mte) {
      dc.d[0] = dmd;
      dc.d[1] = dcd;
    } else {
      dc.d[0] = dcd;
      dc.d[1] = dmd;
    }
    uint8_t *back = NULL;
    diff_run_all(&dc, &back, NULL);
    size_t plen = mte ? md.inject - cd.skip : cd.len;
    if (back && memcmp(back + cd.skip, c.in + cd.skip, plen) != 0)
      diff_report(&dc, &diff_layouts[0], "decrypt(encrypt(x)) != x");
    free(back);
    struct dcase tc;
    diff_derive(&tc, &dc, dc.in, "tamper");
    if (!mte) {
      if (md.len && ref_rand(&diff_rng) % 2)
        diff_flip(tc.in, md.skip, md.len);
      else
        diff_flip(tc.in, md.inject, maclen);
    } else {
      diff_flip(tc.in, cd.skip, plen + maclen);
    }
    diff_run_some(&tc, 3);
    diff_free_derived(&tc);
    diff_free_derived(&dc);
  }
  free(res);
  diff_close_case(&c);
}

static void test_etm(void **state) {
  (void)state;
  struct cat_stats st;
  diff_begin(&st, "etm");
  for (int k = 0; k < diff_iters(800); k++) chain_case(0, k);
  diff_end(&st);
}

static void test_mte(void **state) {
  (void)state;
  struct cat_stats st;
  diff_begin(&st, "mte");
  for (int k = 0; k < diff_iters(800); k++) chain_case(1, k);
  diff_end(&st);
}

/* decompress_case runs a decompression of comp[clen] (placed at skip) whose
 * expected output is plain[plen]. */
static void decompress_case(const struct dcase *base, const uint8_t *comp, size_t clen,
                            const uint8_t *plain, size_t plen, size_t skip, const char *what,
                            int all) {
  struct dcase dc = *base;
  dc.what = what;
  dc.sp[0].key = NULL;
  dc.sp[0].next = NULL;
  dc.n = skip + (plen > clen ? plen : clen) +
         (ref_rand(&diff_rng) % 3 ? ref_range(&diff_rng, 1, 8) : 0);
  diff_alloc_bufs(&dc);
  memcpy(dc.in + skip, comp, clen);
  memset(&dc.d[0], 0, sizeof(dc.d[0]));
  dc.d[0].alg = OCF_ALG_DEFLATE;
  dc.d[0].skip = skip;
  dc.d[0].len = clen;
  dc.comp = 1;
  dc.plain = plain;
  dc.plain_len = plen;
  uint8_t *res = NULL;
  size_t olen = 0;
  if (all)
    diff_run_all(&dc, &res, &olen);
  else
    diff_run_check(&dc, (int)ref_range(&diff_rng, 0, DIFF_NLAYOUT - 1), NULL, NULL);
  if (res != NULL && (olen != plen || memcmp(res + skip, plain, plen) != 0))
    diff_report(&dc, &diff_layouts[0], "inflate(deflate(x)) != x");
  free(res);
  free(dc.in);
  free(dc.oinit);
}

/* bad_inflate_cases: decompressions that must fail (output does not fit;
 * corrupt input) on the session, each followed by a valid one on the same
 * session, which must not be affected by the failure. */
static void bad_inflate_cases(const struct dcase *base, const uint8_t *plain, size_t plen) {
  uint8_t *z = NULL;
  size_t zl = 0;
  assert_int_equal(ref_deflate(plain, plen, 6, &z, &zl), 0);
  for (int kind = 0; kind < 2; kind++) {
    struct dcase bc = *base;
    bc.what = kind == 0 ? "inflate-no-room" : "inflate-corrupt";
    bc.sp[0].next = NULL;
    size_t skip = ref_range(&diff_rng, 0, 9);
    /* no room: the output would need plen bytes, the buffer holds less;
     * corrupt: room for the input (which for incompressible data is longer
     * than plen) and for the output */
    size_t most = zl > plen ? zl : plen;
    bc.n = skip + (kind == 0 ? (zl > plen / 2 ? zl : plen / 2) + 1 : most + 8);
    if (kind == 0 && bc.n - skip >= plen) continue; /* incompressible: nothing to test */
    diff_alloc_bufs(&bc);
    memcpy(bc.in + skip, z, zl);
    if (kind == 1) ref_fill(&diff_rng, bc.in + skip + zl / 3, zl - zl / 3); /* garbage tail */
    memset(&bc.d[0], 0, sizeof(bc.d[0]));
    bc.d[0].alg = OCF_ALG_DEFLATE;
    bc.d[0].skip = skip;
    bc.d[0].len = zl;
    bc.comp = 1;
    bc.plain = plain;
    bc.plain_len = plen;
    bc.err_any = 1;
    /* each failing request directly followed by a good one on the session */
    for (int i = 0; i < 3; i++) {
      diff_run_check(&bc, (int)ref_range(&diff_rng, 0, DIFF_NLAYOUT - 1), NULL, NULL);
      decompress_case(base, z, zl, plain, plen, skip,
                      kind == 0 ? "inflate-after-no-room" : "inflate-after-corrupt", 0);
    }
    free(bc.in);
    free(bc.oinit);
  }
  free(z);
}

static void test_deflate(void **state) {
  (void)state;
  struct cat_stats st;
  diff_begin(&st, "deflate");
  for (int k = 0; k < diff_iters(120); k++) {
    struct dcase c;
    memset(&c, 0, sizeof(c));
    c.cat = "deflate";
    c.caseno = k;
    c.what = "compress";
    diff_set_param(&c, 0, OCF_ALG_DEFLATE);
    if (diff_open_session(&c) != 0) continue;
    st.cases++;
    size_t len = diff_pick_len(1, 0), skip = ref_range(&diff_rng, 0, 9);
    uint8_t *plain = malloc(len + 1);
    assert_non_null(plain);
    if (ref_rand(&diff_rng) % 4 == 0)
      ref_fill(&diff_rng, plain, len);
    else
      ref_fill_text(&diff_rng, plain, len);
    size_t bound = compressBound(len) + 16;
    c.n = skip + (bound > len ? bound : len) + ref_range(&diff_rng, 0, 8);
    diff_alloc_bufs(&c);
    memcpy(c.in + skip, plain, len);
    c.nd = 1;
    c.d[0].alg = OCF_ALG_DEFLATE;
    c.d[0].flags = OCF_D_ENCRYPT;
    c.d[0].skip = skip;
    c.d[0].len = len;
    c.comp = 1;
    c.plain = plain;
    c.plain_len = len;
    uint8_t *res = NULL;
    size_t olen = 0;
    diff_run_all(&c, &res, &olen);
    if (res != NULL) decompress_case(&c, res + skip, olen, plain, len, skip, "inflate-ours", 1);
    if (len > 64) bad_inflate_cases(&c, plain, len);
    uint8_t *z = NULL;
    size_t zl = 0;
    assert_int_equal(ref_deflate(plain, len, (int)ref_range(&diff_rng, 1, 9), &z, &zl), 0);
    decompress_case(&c, z, zl, plain, len, ref_range(&diff_rng, 0, 9), "inflate-zlib", 1);
    free(z);
    free(res);
    free(plain);
    diff_close_case(&c);
  }
  diff_end(&st);
}

/* The framework's algorithm table against facts written from the standards. */
static void test_table(void **state) {
  (void)state;
  static const enum ocf_alg all[] = {
      OCF_ALG_NULL,          OCF_ALG_DES_CBC,           OCF_ALG_3DES_CBC,
      OCF_ALG_AES_CBC,       OCF_ALG_AES_CTR,           OCF_ALG_AES_XTS,
      OCF_ALG_BLOWFISH_CBC,  OCF_ALG_CAST5_CBC,         OCF_ALG_AES_GCM,
      OCF_ALG_AES_CCM,       OCF_ALG_CHACHA20_POLY1305, OCF_ALG_HMAC_MD5,
      OCF_ALG_HMAC_SHA1,     OCF_ALG_HMAC_SHA2_224,     OCF_ALG_HMAC_SHA2_256,
      OCF_ALG_HMAC_SHA2_384, OCF_ALG_HMAC_SHA2_512,     OCF_ALG_MD5,
      OCF_ALG_SHA1,          OCF_ALG_SHA2_224,          OCF_ALG_SHA2_256,
      OCF_ALG_SHA2_384,      OCF_ALG_SHA2_512,          OCF_ALG_AES_GMAC,
      OCF_ALG_DEFLATE};
  for (size_t i = 0; i < NELEM(all); i++) {
    const struct ocf_alg_info *ai = ocf_alg_lookup(all[i]);
    assert_non_null(ai);
    assert_int_equal(ai->cls, ref_alg_class(all[i]));
    assert_int_equal(ai->block, ref_alg_block(all[i]));
    assert_int_equal(ai->ivlen, ref_alg_ivlen(all[i]));
    assert_int_equal(ai->maclen, ref_alg_maclen(all[i]));
    assert_string_equal(ai->name, ref_alg_name(all[i]));
  }
}

/* Every ocf_dispatch above got exactly one callback, also counting late ones. */
static void test_callbacks(void **state) {
  (void)state;
  struct timespec ts = {0, 50 * 1000 * 1000};
  nanosleep(&ts, NULL);
  long calls, disp;
  diff_callback_counts(&calls, &disp);
  printf("diff: %ld asynchronous dispatches, %ld callbacks\n", disp, calls);
  assert_int_equal(calls, disp);
}

int main(void) {
  diff_seed = ref_seed();
  diff_scale = ref_scale();
  printf("test_diff: diff_seed=0x%llx (set OCF_TEST_SEED to reproduce), diff_scale=%d\n",
         (unsigned long long)diff_seed, diff_scale);
  fflush(stdout);
  if (ref_init() != 0) {
    fprintf(stderr, "cannot load the OpenSSL default and legacy providers\n");
    return 1;
  }
  int rc = ocf_init(NULL);
  if (rc != 0) {
    fprintf(stderr, "ocf_init: %d (%s)\n", rc, ocf_errdetail());
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),   cmocka_unit_test(test_cipher),    cmocka_unit_test(test_aead),
      cmocka_unit_test(test_mac),     cmocka_unit_test(test_etm),       cmocka_unit_test(test_mte),
      cmocka_unit_test(test_deflate), cmocka_unit_test(test_callbacks),
  };
  /* OCF_DIFF_ONLY=test_aead (a cmocka filter pattern) runs one category */
  if (getenv("OCF_DIFF_ONLY") != NULL) cmocka_set_test_filter(getenv("OCF_DIFF_ONLY"));
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  ocf_shutdown();
  ref_cleanup();
  return rc;
}
