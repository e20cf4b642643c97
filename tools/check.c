/* check.c - `ocf check`, after FreeBSD's cryptocheck: every registered
 * producer, every algorithm it claims, random keys, lengths, offsets, IV
 * sources and buffer kinds (contiguous, iovec, mbuf; in place and into a
 * separate output), each result compared with OpenSSL computed directly;
 * then the known-answer vectors of python3-cryptography-vectors. */
#include <errno.h>
#include <getopt.h>
#include <ocf/driver.h>
#include <ocf/pk.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "check.h"
#include "ocf_tool.h"

#define CK_DEFAULT_VECTORS "/usr/lib/python3/dist-packages/cryptography_vectors"
#define CK_MAX_REPORT 3

/* --- random numbers: reproducible, not cryptographic ----------------------- */

uint64_t ck_rand(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dull;
}

size_t ck_range(uint64_t *s, size_t lo, size_t hi) {
  if (hi <= lo) return lo;
  return lo + (size_t)(ck_rand(s) % (uint64_t)(hi - lo + 1));
}

void ck_fill(uint64_t *s, uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x = ck_rand(s);
    for (size_t k = 0; k < 8 && i + k < n; k++) p[i + k] = (uint8_t)(x >> (8 * k));
  }
}

void ck_fail(struct ck_tally *t, int kat, const char *fmt, ...) {
  if (kat)
    t->kfailed++;
  else
    t->failed++;
  if (t->reported++ >= CK_MAX_REPORT && !t->verbose) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "  FAIL %s %s: ", t->producer, t->alg);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* --- sessions on a chosen producer ---------------------------------------- */

int ck_open(const struct ck_target *t, const struct ocf_sessparam *chain, ocf_sid_t *sid, char *msg,
            size_t msglen) {
  enum { TRIES = 48 };
  ocf_sid_t miss[TRIES];
  int nmiss = 0, err = 0;
  for (;;) {
    ocf_sid_t s;
    if ((err = ocf_newsession(&s, chain, t->sess_flags)) != 0) {
      snprintf(msg, msglen, "ocf_newsession: %s (%s)", ocf_strerror(err), ocf_errdetail());
      break;
    }
    if (OCF_SID_DRIVER(s) == t->hid) {
      *sid = s;
      break;
    }
    /* holding the miss makes the balancing policy move on to the next */
    miss[nmiss++] = s;
    if (nmiss == TRIES) {
      char name[64] = "?";
      ocf_session_driver(s, name, sizeof(name));
      snprintf(msg, msglen, "sessions keep landing on %s, not on %s", name, t->name);
      err = ENODEV;
      break;
    }
  }
  for (int i = 0; i < nmiss; i++) ocf_freesession(miss[i]);
  return err;
}

static void close_sid(ocf_sid_t sid) {
  for (int i = 0; i < 1000 && ocf_freesession(sid) == EBUSY; i++) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

/* --- buffers --------------------------------------------------------------- */

struct scatter {
  enum ocf_buf_type kind;
  int n;
  struct iovec iov[8];
  struct ocf_mbuf mb[8];
  uint8_t *seg[8];
  size_t len[8];
  struct ocf_buf buf;
};

/* cut splits len bytes into 1..8 separately allocated pieces (some may be
 * empty) and copies src into them. */
static void scatter_make(struct scatter *s, enum ocf_buf_type kind, const uint8_t *src, size_t len,
                         uint64_t *rng) {
  memset(s, 0, sizeof(*s));
  s->kind = kind;
  s->n = kind == OCF_BUF_CONTIG ? 1 : (int)ck_range(rng, 1, 8);
  size_t cuts[9];
  cuts[0] = 0;
  cuts[s->n] = len;
  for (int i = 1; i < s->n; i++) cuts[i] = ck_range(rng, 0, len);
  /* insertion sort of the inner cut points */
  for (int i = 2; i < s->n; i++)
    for (int j = i; j > 1 && cuts[j - 1] > cuts[j]; j--) {
      size_t x = cuts[j];
      cuts[j] = cuts[j - 1];
      cuts[j - 1] = x;
    }
  for (int i = 0; i < s->n; i++) {
    s->len[i] = cuts[i + 1] - cuts[i];
    s->seg[i] = bench_alloc(s->len[i] ? s->len[i] : 1);
    memcpy(s->seg[i], src + cuts[i], s->len[i]);
    s->iov[i].iov_base = s->seg[i];
    s->iov[i].iov_len = s->len[i];
    s->mb[i].data = s->seg[i];
    s->mb[i].len = s->len[i];
    s->mb[i].next = i + 1 < s->n ? &s->mb[i + 1] : NULL;
  }
  if (kind == OCF_BUF_CONTIG)
    s->buf = ocf_buf_contig(s->seg[0], len);
  else if (kind == OCF_BUF_IOVEC)
    s->buf = ocf_buf_iovec(s->iov, s->n);
  else
    s->buf = ocf_buf_mbuf(&s->mb[0]);
}

static void scatter_gather(struct scatter *s, uint8_t *dst) {
  size_t off = 0;
  for (int i = 0; i < s->n; i++) {
    memcpy(dst + off, s->seg[i], s->len[i]);
    off += s->len[i];
  }
}

static void scatter_free(struct scatter *s) {
  for (int i = 0; i < s->n; i++) {
    OPENSSL_cleanse(s->seg[i], s->len[i]);
    free(s->seg[i]);
  }
}

int ck_exec(ocf_sid_t *sid, struct ocf_desc *d, int nd, uint8_t *flat, size_t len, uint8_t *out,
            size_t outlen, enum ocf_buf_type kind, uint64_t *rng, size_t *olen) {
  struct scatter in, so;
  struct ocf_req req;
  memset(&req, 0, sizeof(req));
  scatter_make(&in, kind, flat, len, rng);
  req.sid = *sid;
  req.buf = in.buf;
  if (out != NULL) {
    scatter_make(&so, kind, out, outlen, rng);
    req.out = so.buf;
  }
  req.ndesc = nd;
  memcpy(req.desc, d, (size_t)nd * sizeof(*d));
  int err = ocf_run(&req);
  *sid = req.sid;
  memcpy(d, req.desc, (size_t)nd * sizeof(*d));
  if (olen) *olen = req.olen;
  scatter_gather(&in, flat);
  scatter_free(&in);
  if (out != NULL) {
    scatter_gather(&so, out);
    scatter_free(&so);
  }
  return err;
}

/* --- random trials --------------------------------------------------------- */

static const char *const kind_names[] = {"?", "contig", "iovec", "mbuf"};
static const char *const iv_names[] = {"explicit", "present", "generated"};

static int is_hmac(enum ocf_alg a) { return a >= OCF_ALG_HMAC_MD5 && a <= OCF_ALG_HMAC_SHA2_512; }

static size_t pick_keylen(const struct ocf_alg_info *ai, uint64_t *r) {
  if (ai->max_key == 0) return 0;
  if (is_hmac(ai->alg)) {
    size_t x = ck_range(r, 0, 15);
    if (x == 0) return 0;
    if (x < 4) return ck_range(r, 129, 300); /* longer than a block: hashed first */
    return ck_range(r, 1, 64);
  }
  size_t ok[64], n = 0;
  for (size_t k = ai->min_key; k <= ai->max_key && n < 64; k++)
    if (ocf_alg_keylen_ok(ai->alg, k)) ok[n++] = k;
  return n ? ok[ck_range(r, 0, n - 1)] : ai->min_key;
}

static size_t pick_maclen(const struct ocf_alg_info *ai, uint64_t *r) {
  if (ai->maclen == 0 || ck_range(r, 0, 9) < 7) return ai->maclen;
  size_t step = ai->mac_step ? ai->mac_step : 1;
  size_t steps = (ai->maclen - ai->min_mac) / step;
  return ai->min_mac + step * ck_range(r, 0, steps);
}

static size_t pick_ivlen(const struct ocf_alg_info *ai, uint64_t *r) {
  if (ai->ivlen == 0 || ai->min_iv == ai->max_iv || ck_range(r, 0, 9) < 7) return ai->ivlen;
  return ck_range(r, ai->min_iv, ai->max_iv);
}

/* pick_len: a legal data length, mostly short, sometimes up to 16 KB. */
static size_t pick_len(const struct ocf_alg_info *ai, size_t maxlen, int zero_ok, uint64_t *r) {
  size_t hi = ck_range(r, 0, 15) == 0 ? 16384 : ck_range(r, 0, 3) == 0 ? 2048 : 256;
  if (maxlen && hi > maxlen) hi = maxlen;
  size_t blk = ai->block ? ai->block : 1, lo = ai->alg == OCF_ALG_AES_XTS ? 16 : 1;
  if (zero_ok && ck_range(r, 0, 15) == 0) return 0;
  size_t len = ck_range(r, lo, hi < lo ? lo : hi);
  len -= len % blk;
  return len < blk ? blk : len;
}

struct trial {
  const struct ck_target *t;
  const struct ocf_alg_info *ai;
  struct ck_tally *tally;
  uint64_t *rng;
  size_t maxlen;
  /* drawn */
  uint8_t key[1024];
  size_t keylen, maclen, ivlen;
  enum ocf_buf_type kind;
  int sep, enc, ivmode;
  char what[200];
};

static int trial_session(struct trial *tr, ocf_sid_t *sid) {
  struct ocf_sessparam sp;
  memset(&sp, 0, sizeof(sp));
  sp.alg = tr->ai->alg;
  sp.key = tr->key;
  sp.keylen = tr->keylen;
  sp.maclen = tr->maclen;
  sp.ivlen = tr->ivlen;
  char msg[200];
  int e = ck_open(tr->t, &sp, sid, msg, sizeof(msg));
  if (e != 0) ck_fail(tr->tally, 0, "%s: %s", tr->what, msg);
  return e;
}

/* compare reports the first differing offset. */
static int same(struct trial *tr, const char *region, const uint8_t *got, const uint8_t *want,
                size_t n, size_t base) {
  for (size_t i = 0; i < n; i++)
    if (got[i] != want[i]) {
      ck_fail(tr->tally, 0, "%s: %s differs at byte %zu (got %02x, want %02x)", tr->what, region,
              base + i, got[i], want[i]);
      return 0;
    }
  return 1;
}

static void trial_cipher(struct trial *tr, size_t len) {
  uint64_t *r = tr->rng;
  size_t ivlen = tr->ai->ivlen;
  tr->ivmode = ivlen ? (int)ck_range(r, 0, tr->enc ? 2 : 1) : 0;
  size_t pre = (tr->ivmode ? ivlen : 0) + ck_range(r, 0, 12);
  size_t iv_off = tr->ivmode ? ck_range(r, 0, pre - ivlen) : 0;
  size_t skip = pre, total = skip + len + ck_range(r, 0, 12);
  snprintf(tr->what, sizeof(tr->what), "%s len=%zu skip=%zu key=%zu iv=%s %s%s",
           tr->enc ? "encrypt" : "decrypt", len, skip, tr->keylen, iv_names[tr->ivmode],
           kind_names[tr->kind], tr->sep ? " separate-output" : "");
  uint8_t *flat = bench_alloc(total), *orig = bench_alloc(total), *exp = bench_alloc(total);
  uint8_t *out = tr->sep ? bench_alloc(total) : NULL, iv[16] = {0};
  ck_fill(r, flat, total);
  ck_fill(r, iv, sizeof(iv));
  if (tr->ivmode == 1) memcpy(flat + iv_off, iv, ivlen);
  memcpy(orig, flat, total);
  if (out) memset(out, 0x5c, total);
  struct ocf_desc d;
  memset(&d, 0, sizeof(d));
  d.alg = tr->ai->alg;
  d.flags = (tr->enc ? OCF_D_ENCRYPT : 0) | (ivlen && tr->ivmode == 0 ? OCF_D_IV_EXPLICIT : 0) |
            (tr->ivmode == 1 ? OCF_D_IV_PRESENT : 0);
  d.skip = skip;
  d.len = len;
  d.iv_off = iv_off;
  memcpy(d.iv, iv, ivlen);
  ocf_sid_t sid;
  if (trial_session(tr, &sid) != 0) goto out;
  int e = ck_exec(&sid, &d, 1, flat, total, out, total, tr->kind, r, NULL);
  close_sid(sid);
  if (e != 0) {
    ck_fail(tr->tally, 0, "%s: request failed: %s", tr->what, ocf_strerror(e));
    goto out;
  }
  if (tr->ivmode == 2) memcpy(iv, d.iv, ivlen);
  memcpy(exp, orig, total);
  if (tr->ivmode == 2) memcpy(exp + iv_off, iv, ivlen);
  if (ck_ref_cipher(d.alg, tr->enc, tr->key, tr->keylen, iv, orig + skip, len, exp + skip) != 0) {
    ck_fail(tr->tally, 0, "%s: the OpenSSL reference failed", tr->what);
    goto out;
  }
  int ok;
  if (out == NULL) {
    ok = same(tr, "buffer", flat, exp, total, 0);
  } else {
    ok = same(tr, "input buffer (must stay unchanged)", flat, orig, total, 0) &&
         same(tr, "output payload", out + skip, exp + skip, len, skip) &&
         (tr->ivmode != 2 || same(tr, "generated IV in output", out + iv_off, iv, ivlen, iv_off));
  }
  if (ok) tr->tally->passed++;
out:
  free(flat);
  free(orig);
  free(exp);
  free(out);
}

static void trial_aead(struct trial *tr, size_t len) {
  uint64_t *r = tr->rng;
  size_t ivlen = tr->ivlen ? tr->ivlen : tr->ai->ivlen;
  size_t taglen = tr->maclen ? tr->maclen : tr->ai->maclen;
  size_t aadlen = ck_range(r, 0, 3) == 0 ? 0 : ck_range(r, 1, 40);
  tr->ivmode = (int)ck_range(r, 0, tr->enc ? 2 : 1);
  size_t off = aadlen, iv_off = 0;
  if (tr->ivmode) {
    iv_off = off;
    off += ivlen;
  }
  size_t skip = off + ck_range(r, 0, 8), inject = skip + len;
  size_t total = inject + taglen + ck_range(r, 0, 8);
  int tamper = !tr->enc && ck_range(r, 0, 3) == 0;
  snprintf(tr->what, sizeof(tr->what), "%s%s len=%zu aad=%zu key=%zu iv=%zu/%s tag=%zu %s%s",
           tr->enc ? "seal" : "open", tamper ? " (forged tag)" : "", len, aadlen, tr->keylen, ivlen,
           iv_names[tr->ivmode], taglen, kind_names[tr->kind], tr->sep ? " separate-output" : "");
  uint8_t *flat = bench_alloc(total), *orig = bench_alloc(total), *exp = bench_alloc(total);
  uint8_t *out = tr->sep ? bench_alloc(total) : NULL, iv[OCF_MAX_IV];
  uint8_t *pt = bench_alloc(len + 1);
  ck_fill(r, flat, total);
  ck_fill(r, iv, sizeof(iv));
  ck_fill(r, pt, len);
  if (tr->ivmode == 1) memcpy(flat + iv_off, iv, ivlen);
  if (!tr->enc) {
    /* a genuine ciphertext and tag to open */
    if (ck_ref_aead_seal(tr->ai->alg, tr->key, tr->keylen, iv, ivlen, flat, aadlen, pt, len,
                         flat + skip, flat + inject, taglen) != 0) {
      ck_fail(tr->tally, 0, "%s: the OpenSSL reference failed", tr->what);
      goto out;
    }
    if (tamper) flat[inject + ck_range(r, 0, taglen - 1)] ^= (uint8_t)(1u << ck_range(r, 0, 7));
  }
  memcpy(orig, flat, total);
  if (out) memset(out, 0x5c, total);
  struct ocf_desc d;
  memset(&d, 0, sizeof(d));
  d.alg = tr->ai->alg;
  d.flags = (tr->enc ? OCF_D_ENCRYPT : 0) | (tr->ivmode == 0 ? OCF_D_IV_EXPLICIT : 0) |
            (tr->ivmode == 1 ? OCF_D_IV_PRESENT : 0);
  d.skip = skip;
  d.len = len;
  d.inject = inject;
  d.iv_off = iv_off;
  d.aad_skip = 0;
  d.aad_len = aadlen;
  memcpy(d.iv, iv, ivlen);
  ocf_sid_t sid;
  if (trial_session(tr, &sid) != 0) goto out;
  int e = ck_exec(&sid, &d, 1, flat, total, out, total, tr->kind, r, NULL);
  close_sid(sid);
  if (tamper) {
    if (e == EBADMSG)
      tr->tally->passed++;
    else
      ck_fail(tr->tally, 0, "%s: got %s, want EBADMSG", tr->what, e ? ocf_strerror(e) : "success");
    goto out;
  }
  if (e != 0) {
    ck_fail(tr->tally, 0, "%s: request failed: %s", tr->what, ocf_strerror(e));
    goto out;
  }
  if (tr->ivmode == 2) memcpy(iv, d.iv, ivlen);
  memcpy(exp, orig, total);
  if (tr->ivmode == 2) memcpy(exp + iv_off, iv, ivlen);
  if (tr->enc) {
    if (ck_ref_aead_seal(d.alg, tr->key, tr->keylen, iv, ivlen, orig, aadlen, orig + skip, len,
                         exp + skip, exp + inject, taglen) != 0) {
      ck_fail(tr->tally, 0, "%s: the OpenSSL reference failed", tr->what);
      goto out;
    }
  } else {
    memcpy(exp + skip, pt, len);
  }
  int ok;
  if (out == NULL) {
    ok = same(tr, "buffer", flat, exp, total, 0);
  } else {
    ok = same(tr, "input buffer (must stay unchanged)", flat, orig, total, 0) &&
         same(tr, "output payload", out + skip, exp + skip, len, skip) &&
         (!tr->enc || same(tr, "output tag", out + inject, exp + inject, taglen, inject)) &&
         (tr->ivmode != 2 || same(tr, "generated IV in output", out + iv_off, iv, ivlen, iv_off));
  }
  if (ok) tr->tally->passed++;
out:
  free(flat);
  free(orig);
  free(exp);
  free(out);
  free(pt);
}

static void trial_mac(struct trial *tr, size_t len) {
  uint64_t *r = tr->rng;
  size_t ivlen = tr->ai->ivlen ? (tr->ivlen ? tr->ivlen : tr->ai->ivlen) : 0;
  size_t maclen = tr->maclen ? tr->maclen : tr->ai->maclen;
  tr->ivmode = ivlen ? (int)ck_range(r, 0, 1) : 0;
  size_t iv_off = 0, pre = (tr->ivmode ? ivlen : 0) + ck_range(r, 0, 12);
  size_t skip = pre, inject = skip + len, total = inject + maclen + ck_range(r, 0, 12);
  int verify = ck_range(r, 0, 2) == 0, tamper = verify && ck_range(r, 0, 1);
  snprintf(tr->what, sizeof(tr->what), "%s%s len=%zu skip=%zu key=%zu mac=%zu%s%s %s%s",
           verify ? "verify" : "compute", tamper ? " (wrong MAC)" : "", len, skip, tr->keylen,
           maclen, ivlen ? " iv=" : "", ivlen ? iv_names[tr->ivmode] : "", kind_names[tr->kind],
           tr->sep ? " separate-output" : "");
  uint8_t *flat = bench_alloc(total), *orig = bench_alloc(total), *exp = bench_alloc(total);
  uint8_t *out = tr->sep ? bench_alloc(total) : NULL, iv[OCF_MAX_IV], mac[64];
  ck_fill(r, flat, total);
  ck_fill(r, iv, sizeof(iv));
  if (tr->ivmode == 1) memcpy(flat + iv_off, iv, ivlen);
  if (ck_ref_mac(tr->ai->alg, tr->key, tr->keylen, iv, ivlen, flat + skip, len, mac) != 0) {
    ck_fail(tr->tally, 0, "%s: the OpenSSL reference failed", tr->what);
    goto out;
  }
  if (verify) {
    memcpy(flat + inject, mac, maclen);
    if (tamper) flat[inject + ck_range(r, 0, maclen - 1)] ^= (uint8_t)(1u << ck_range(r, 0, 7));
  }
  memcpy(orig, flat, total);
  if (out) memset(out, 0x5c, total);
  struct ocf_desc d;
  memset(&d, 0, sizeof(d));
  d.alg = tr->ai->alg;
  d.flags = (verify ? OCF_D_VERIFY : 0) | (ivlen && tr->ivmode == 0 ? OCF_D_IV_EXPLICIT : 0) |
            (tr->ivmode == 1 ? OCF_D_IV_PRESENT : 0);
  d.skip = skip;
  d.len = len;
  d.inject = inject;
  d.iv_off = iv_off;
  memcpy(d.iv, iv, ivlen);
  ocf_sid_t sid;
  if (trial_session(tr, &sid) != 0) goto out;
  int e = ck_exec(&sid, &d, 1, flat, total, out, total, tr->kind, r, NULL);
  close_sid(sid);
  if (tamper) {
    if (e == EBADMSG)
      tr->tally->passed++;
    else
      ck_fail(tr->tally, 0, "%s: got %s, want EBADMSG", tr->what, e ? ocf_strerror(e) : "success");
    goto out;
  }
  if (e != 0) {
    ck_fail(tr->tally, 0, "%s: request failed: %s", tr->what, ocf_strerror(e));
    goto out;
  }
  memcpy(exp, orig, total);
  memcpy(exp + inject, mac, maclen);
  int ok;
  if (out == NULL)
    ok = same(tr, "buffer", flat, exp, total, 0);
  else
    ok = same(tr, "input buffer (must stay unchanged)", flat, orig, total, 0) &&
         same(tr, "MAC in output", out + inject, exp + inject, maclen, inject);
  if (ok) tr->tally->passed++;
out:
  free(flat);
  free(orig);
  free(exp);
  free(out);
}

/* text-like data with runs of noise, so that deflate has work of both kinds */
static void fill_text(uint64_t *r, uint8_t *p, size_t n) {
  static const char *const words[] = {"crypto ", "framework ", "session ", "the ", "request ",
                                      "card ",   "of ",        "driver ",  "a ",   "queue "};
  size_t off = 0;
  while (off < n) {
    if (ck_range(r, 0, 15) == 0) {
      size_t k = ck_range(r, 1, 40);
      for (size_t i = 0; i < k && off < n; i++) p[off++] = (uint8_t)ck_rand(r);
      continue;
    }
    const char *w = words[ck_range(r, 0, 9)];
    for (size_t i = 0; w[i] && off < n; i++) p[off++] = (uint8_t)w[i];
  }
}

static void trial_comp(struct trial *tr, size_t len) {
  uint64_t *r = tr->rng;
  size_t skip = ck_range(r, 0, 16), room = len + len / 8 + 64, clen = room;
  uint8_t *data = bench_alloc(len + 1), *comp = bench_alloc(room);
  fill_text(r, data, len);
  if (!tr->enc && ck_ref_deflate(data, len, comp, &clen) != 0) {
    ck_fail(tr->tally, 0, "zlib reference deflate failed");
    free(data);
    free(comp);
    return;
  }
  size_t total = skip + room + ck_range(r, 0, 16);
  snprintf(tr->what, sizeof(tr->what), "%s len=%zu%s skip=%zu %s%s",
           tr->enc ? "compress" : "decompress", len, tr->enc ? "" : " (original)", skip,
           kind_names[tr->kind], tr->sep ? " separate-output" : "");
  uint8_t *flat = bench_alloc(total), *out = tr->sep ? bench_alloc(total) : NULL;
  uint8_t *back = bench_alloc(len + 1);
  ck_fill(r, flat, total);
  memcpy(flat + skip, tr->enc ? data : comp, tr->enc ? len : clen);
  if (out) memset(out, 0x5c, total);
  struct ocf_desc d;
  memset(&d, 0, sizeof(d));
  d.alg = OCF_ALG_DEFLATE;
  d.flags = tr->enc ? OCF_D_ENCRYPT : 0;
  d.skip = skip;
  d.len = tr->enc ? len : clen;
  ocf_sid_t sid;
  size_t olen = 0;
  if (trial_session(tr, &sid) != 0) goto out;
  int e = ck_exec(&sid, &d, 1, flat, total, out, total, tr->kind, r, &olen);
  close_sid(sid);
  if (e != 0) {
    ck_fail(tr->tally, 0, "%s: request failed: %s", tr->what, ocf_strerror(e));
    goto out;
  }
  const uint8_t *res = (out ? out : flat) + skip;
  if (tr->enc) {
    size_t bl = len;
    if (olen > total - skip || ck_ref_inflate(res, olen, back, &bl) != 0 || bl != len ||
        memcmp(back, data, len) != 0) {
      ck_fail(tr->tally, 0, "%s: output (%zu bytes) does not inflate to the input", tr->what, olen);
      goto out;
    }
  } else if (olen != len) {
    ck_fail(tr->tally, 0, "%s: output is %zu bytes, want %zu", tr->what, olen, len);
    goto out;
  } else if (!same(tr, "decompressed data", res, data, len, skip)) {
    goto out;
  }
  tr->tally->passed++;
out:
  free(data);
  free(comp);
  free(flat);
  free(out);
  free(back);
}

static void run_trials(const struct ck_target *t, const struct ocf_alg_info *ai, size_t maxlen,
                       int n, uint64_t *rng, struct ck_tally *tally) {
  struct trial tr;
  for (int i = 0; i < n; i++) {
    memset(&tr, 0, sizeof(tr));
    tr.t = t;
    tr.ai = ai;
    tr.tally = tally;
    tr.rng = rng;
    tr.maxlen = maxlen;
    tr.keylen = pick_keylen(ai, rng);
    ck_fill(rng, tr.key, tr.keylen);
    if (ai->alg == OCF_ALG_AES_XTS) tr.key[tr.keylen / 2] ^= 0x80; /* halves must differ */
    tr.maclen = ai->cls == OCF_CLASS_AEAD || ai->cls == OCF_CLASS_MAC ? pick_maclen(ai, rng) : 0;
    tr.ivlen = ai->cls == OCF_CLASS_AEAD || ai->alg == OCF_ALG_AES_GMAC ? pick_ivlen(ai, rng) : 0;
    tr.kind = (enum ocf_buf_type)ck_range(rng, OCF_BUF_CONTIG, OCF_BUF_MBUF);
    tr.sep = (int)ck_range(rng, 0, 1);
    tr.enc = (int)ck_range(rng, 0, 1);
    switch (ai->cls) {
      case OCF_CLASS_CIPHER:
        trial_cipher(&tr, pick_len(ai, maxlen, ai->block == 1 && ai->alg != OCF_ALG_AES_XTS, rng));
        break;
      case OCF_CLASS_AEAD:
        trial_aead(&tr, pick_len(ai, maxlen, 1, rng));
        break;
      case OCF_CLASS_MAC:
        trial_mac(&tr, pick_len(ai, maxlen, 1, rng));
        break;
      case OCF_CLASS_COMP:
        trial_comp(&tr, pick_len(ai, maxlen ? maxlen / 2 : 0, 1, rng));
        break;
      default:
        tally->skipped++;
    }
    OPENSSL_cleanse(tr.key, sizeof(tr.key));
  }
}

/* --- the command ----------------------------------------------------------- */

struct copts {
  const char *producer, *algs, *vectors, *devices, *json, *policy;
  int trials, kat_cap, no_kat, no_kops, verbose, quiet, workers, no_soft;
  uint64_t seed;
};

static void check_usage(FILE *f) {
  fprintf(f,
          "usage: ocf check [options]\n"
          "\n"
          "Checks every registered producer and every algorithm it claims against OpenSSL\n"
          "computed directly: random keys, lengths, offsets, IV sources, buffer kinds\n"
          "(contiguous, iovec, mbuf; in place and into a separate output), forged tags\n"
          "and MACs; then the known-answer vectors of python3-cryptography-vectors, and\n"
          "random trials of every public-key operation.  One line per (producer,\n"
          "algorithm); exit status 1 if anything failed.\n"
          "\n"
          "  --producer NAME   check only that producer (see `ocf drivers`)\n"
          "  --alg A,B,...     check only these algorithms (framework names: aes-cbc, ...;\n"
          "                    public-key operations: mod-exp, dsa-sign, ...)\n"
          "  --trials N        random trials per (producer, algorithm) (default 64)\n"
          "  --seed N          seed of the random trials (default: from the clock;\n"
          "                    printed, so that a failure can be replayed)\n"
          "  --kat-cap N       at most N known-answer vectors per algorithm (default 300)\n"
          "  --no-kat          skip the known-answer vectors\n"
          "  --no-kops         skip the public-key operations\n"
          "  --vectors DIR     vector root (default $OCF_VECTORS_DIR, else\n"
          "                    " CK_DEFAULT_VECTORS
          ")\n"
          "  --devices SPEC    attach modeled cards, as ocf_init's devices (e.g.\n"
          "                    hifn7751*4@pci64); default $OCF_DEVICES\n"
          "  --no-soft         do not attach the software producer\n"
          "  --policy NAME     balancing policy (sessions, capacity, size)\n"
          "  --workers N       framework worker threads (default: online CPUs)\n"
          "  --json FILE       also write the results as JSON ('-' = stdout)\n"
          "  -v, --verbose     print every failure (default: the first %d per line)\n"
          "  -q, --quiet       print only failures and the summary\n"
          "  -h, --help        this text\n",
          CK_MAX_REPORT);
}

static int ck_bad(const char *fmt, const char *a) {
  fprintf(stderr, "ocf check: ");
  fprintf(stderr, fmt, a);
  fprintf(stderr, "\n(try `ocf check --help`)\n");
  return 2;
}

static int ck_int(const char *opt, const char *s, long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) {
    fprintf(stderr, "ocf check: %s: expected an integer in %ld..%ld, got '%s'\n", opt, lo, hi, s);
    return 2;
  }
  *out = (int)v;
  return 0;
}

static int parse_check(int argc, char **argv, struct copts *o) {
  enum {
    O_PRODUCER = 256,
    O_ALG,
    O_TRIALS,
    O_SEED,
    O_KATCAP,
    O_NOKAT,
    O_NOKOPS,
    O_VECTORS,
    O_DEVICES,
    O_NOSOFT,
    O_POLICY,
    O_WORKERS,
    O_JSON
  };
  static const struct option lo[] = {
      {"producer", required_argument, NULL, O_PRODUCER},
      {"alg", required_argument, NULL, O_ALG},
      {"algs", required_argument, NULL, O_ALG},
      {"trials", required_argument, NULL, O_TRIALS},
      {"seed", required_argument, NULL, O_SEED},
      {"kat-cap", required_argument, NULL, O_KATCAP},
      {"no-kat", no_argument, NULL, O_NOKAT},
      {"no-kops", no_argument, NULL, O_NOKOPS},
      {"vectors", required_argument, NULL, O_VECTORS},
      {"devices", required_argument, NULL, O_DEVICES},
      {"no-soft", no_argument, NULL, O_NOSOFT},
      {"policy", required_argument, NULL, O_POLICY},
      {"workers", required_argument, NULL, O_WORKERS},
      {"json", required_argument, NULL, O_JSON},
      {"verbose", no_argument, NULL, 'v'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  memset(o, 0, sizeof(*o));
  o->trials = 64;
  o->kat_cap = 300;
  o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
  opterr = 0;
  optind = 1;
  int ch, rc = 0;
  while (rc == 0 && (ch = getopt_long(argc, argv, ":hvq", lo, NULL)) != -1) {
    switch (ch) {
      case O_PRODUCER:
        o->producer = optarg;
        break;
      case O_ALG:
        o->algs = optarg;
        break;
      case O_TRIALS:
        rc = ck_int("--trials", optarg, 0, 1000000, &o->trials);
        break;
      case O_SEED: {
        char *end;
        errno = 0;
        o->seed = strtoull(optarg, &end, 0);
        if (errno || end == optarg || *end)
          return ck_bad("--seed: expected a number, got '%s'", optarg);
        break;
      }
      case O_KATCAP:
        rc = ck_int("--kat-cap", optarg, 0, 1000000, &o->kat_cap);
        break;
      case O_NOKAT:
        o->no_kat = 1;
        break;
      case O_NOKOPS:
        o->no_kops = 1;
        break;
      case O_VECTORS:
        o->vectors = optarg;
        break;
      case O_DEVICES:
        o->devices = optarg;
        break;
      case O_NOSOFT:
        o->no_soft = 1;
        break;
      case O_POLICY:
        o->policy = optarg;
        break;
      case O_WORKERS:
        rc = ck_int("--workers", optarg, 1, 256, &o->workers);
        break;
      case O_JSON:
        o->json = optarg;
        break;
      case 'v':
        o->verbose = 1;
        break;
      case 'q':
        o->quiet = 1;
        break;
      case 'h':
        check_usage(stdout);
        exit(0);
      case ':':
        return ck_bad("option '%s' needs a value", argv[optind - 1]);
      default:
        return ck_bad("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (rc) return rc;
  if (optind < argc) return ck_bad("unexpected argument '%s'", argv[optind]);
  if (o->seed == 0) o->seed = 1; /* xorshift's one fixed point */
  return 0;
}

/* in_list: is name one of the comma-separated items of list (NULL = all)? */
int ck_in_list(const char *list, const char *name) {
  if (list == NULL) return 1;
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && strncmp(p, name, n) == 0) return 1;
    if (e == NULL) break;
    p = e + 1;
  }
  return 0;
}

/* every item of --alg must name a symmetric algorithm or a public-key op */
static int check_alg_list(const char *list) {
  if (list == NULL) return 0;
  char *copy = strdup(list), *save = NULL;
  if (copy == NULL) abort();
  int rc = 0;
  for (char *t = strtok_r(copy, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
    int known = ocf_alg_byname(t) != OCF_ALG_NONE;
    for (int k = 0; k < OCF_KOP_COUNT && !known; k++)
      known = strcmp(t, ocf_kop_name((enum ocf_kop)k)) == 0;
    if (!known) rc = ck_bad("--alg: unknown algorithm '%s' (`ocf drivers` lists them)", t);
  }
  free(copy);
  return rc;
}

void ck_json_line(FILE *f, int *first, const char *producer, const char *alg,
                  const struct ck_tally *t, const char *result) {
  fprintf(f, "%s\n  {\"producer\": ", *first ? "" : ",");
  *first = 0;
  json_str(f, producer);
  fprintf(f, ", \"alg\": ");
  json_str(f, alg);
  fprintf(f,
          ", \"random_passed\": %u, \"random_failed\": %u, \"kat_passed\": %u, "
          "\"kat_failed\": %u, \"kat_skipped\": %u, \"result\": \"%s\"}",
          t->passed, t->failed, t->kpassed, t->kfailed, t->kskipped, result);
}

int cmd_check(int argc, char **argv) {
  struct copts o;
  int rc = parse_check(argc, argv, &o);
  if (rc) return rc;
  if ((rc = check_alg_list(o.algs)) != 0) return rc;
  const char *vdir = o.vectors ? o.vectors : getenv("OCF_VECTORS_DIR");
  if (vdir == NULL || *vdir == 0) vdir = CK_DEFAULT_VECTORS;
  if (!o.no_kat && access(vdir, R_OK) != 0) {
    if (o.vectors) return ck_bad("--vectors: cannot read '%s'", o.vectors);
    fprintf(stderr,
            "ocf check: no known-answer vectors at %s (install python3-cryptography-vectors); "
            "random trials only\n",
            vdir);
    o.no_kat = 1;
  }

  struct ocf_init_opts io = {
      .workers = o.workers, .devices = o.devices, .no_soft = o.no_soft, .policy = o.policy};
  int e = ocf_init(&io);
  if (e != 0) {
    fprintf(stderr, "ocf check: ocf_init: %s (%s)\n", ocf_strerror(e), ocf_errdetail());
    return 1;
  }
  char msg[200];
  if (bench_direct_load_providers(msg, sizeof(msg)) != 0)
    fprintf(stderr, "ocf check: warning: %s\n", msg);

  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  if (n > 64) n = 64;
  int hw = 0;
  for (int i = 0; i < n; i++) hw |= (st[i].flags & OCF_DRV_HARDWARE) != 0;
  if (o.devices && *o.devices && !hw) {
    fprintf(stderr, "ocf check: --devices '%s': no modeled card attached\n", o.devices);
    rc = 1;
    goto out;
  }
  FILE *json = NULL;
  int json_first = 1;
  if (o.json) {
    json = strcmp(o.json, "-") == 0 ? stdout : fopen(o.json, "w");
    if (json == NULL) {
      fprintf(stderr, "ocf check: cannot write %s: %s\n", o.json, strerror(errno));
      rc = 1;
      goto out;
    }
    fputc('[', json);
  }
  FILE *tf = json == stdout ? stderr : stdout;
  uint64_t rng = o.seed;
  unsigned lines = 0, bad = 0, producers = 0, total_trials = 0, total_kat = 0;
  if (!o.quiet)
    fprintf(tf, "ocf check: libocf %s, seed %llu, %d trials per algorithm%s\n\n", OCF_VERSION,
            (unsigned long long)o.seed, o.trials, o.no_kat ? ", no known-answer vectors" : "");
  if (!o.quiet)
    fprintf(tf, "%-14s %-18s %-14s %-16s %s\n", "producer", "algorithm", "random", "known-answer",
            "result");
  for (int i = 0; i < n; i++) {
    if (st[i].detached) continue;
    if (o.producer && strcmp(o.producer, st[i].name) != 0) continue;
    struct ck_target t = {.hid = st[i].hid};
    snprintf(t.name, sizeof(t.name), "%s", st[i].name);
    t.sess_flags = st[i].flags & OCF_DRV_HARDWARE ? OCF_SESS_HWONLY : OCF_SESS_SWONLY;
    producers++;
    /* algorithms refused at registration: their self-test failed, so the
     * framework gives them no traffic */
    enum ocf_alg bad_algs[OCF_ALG__MAX];
    int nbad = 0;
    if (ocf_driver_failed_algs(t.hid, bad_algs, OCF_ALG__MAX, &nbad) == 0) {
      if (nbad > OCF_ALG__MAX) nbad = OCF_ALG__MAX;
      for (int k = 0; k < nbad; k++) {
        const struct ocf_alg_info *ai = ocf_alg_lookup(bad_algs[k]);
        if (ai == NULL || !ck_in_list(o.algs, ai->name)) continue;
        struct ck_tally tally = {.producer = t.name, .alg = ai->name};
        fprintf(tf, "%-14s %-18s %-14s %-16s %s\n", t.name, ai->name, "-", "-",
                "FAIL (registration self-test; given no traffic)");
        if (json) ck_json_line(json, &json_first, t.name, ai->name, &tally, "selftest-failed");
        lines++;
        bad++;
      }
    }
    enum ocf_alg algs[OCF_ALG__MAX];
    size_t maxlen[OCF_ALG__MAX];
    int count = 0;
    if (ocf_driver_algs(t.hid, algs, maxlen, OCF_ALG__MAX, &count) != 0) continue;
    if (count > OCF_ALG__MAX) count = OCF_ALG__MAX;
    for (int k = 0; k < count; k++) {
      const struct ocf_alg_info *ai = ocf_alg_lookup(algs[k]);
      if (ai == NULL || !ck_in_list(o.algs, ai->name)) continue;
      struct ck_tally tally = {.producer = t.name, .alg = ai->name, .verbose = o.verbose};
      run_trials(&t, ai, maxlen[k], o.trials, &rng, &tally);
      int have_kat = 0;
      if (!o.no_kat) have_kat = ck_kat_run(vdir, &t, ai->alg, (unsigned)o.kat_cap, &tally) == 0;
      int failed = tally.failed + tally.kfailed > 0;
      const char *res = failed ? "FAIL" : "ok";
      char rnd[32], kat[32];
      snprintf(rnd, sizeof(rnd), "%u/%u", tally.passed, tally.passed + tally.failed);
      if (have_kat)
        snprintf(kat, sizeof(kat), "%u/%u", tally.kpassed, tally.kpassed + tally.kfailed);
      else
        snprintf(kat, sizeof(kat), "-");
      if (have_kat && tally.kskipped)
        snprintf(kat + strlen(kat), sizeof(kat) - strlen(kat), " (%u skip)", tally.kskipped);
      if (!o.quiet || failed)
        fprintf(tf, "%-14s %-18s %-14s %-16s %s\n", t.name, ai->name, rnd, kat, res);
      if (json) ck_json_line(json, &json_first, t.name, ai->name, &tally, res);
      lines++;
      bad += failed;
      total_trials += tally.passed + tally.failed;
      total_kat += tally.kpassed + tally.kfailed;
    }
    if (!o.no_kops) {
      struct ck_kresult kr =
          ck_check_kops(&t, o.trials, &rng, o.verbose, o.quiet, o.algs, tf, json, &json_first);
      lines += kr.lines;
      bad += kr.failed_lines;
      total_trials += kr.trials;
    }
  }
  if (o.producer && producers == 0) {
    fprintf(stderr, "ocf check: --producer: no producer named '%s'; present:", o.producer);
    for (int i = 0; i < n; i++) fprintf(stderr, " %s", st[i].name);
    fputc('\n', stderr);
    rc = 2;
  } else if (lines == 0) {
    fprintf(stderr, "ocf check: nothing to check (no producer serves the selected algorithms)\n");
    rc = 1;
  } else {
    fprintf(tf, "\n%u producer%s, %u (producer, algorithm) pairs, %u random trials, %u vectors: ",
            producers, producers == 1 ? "" : "s", lines, total_trials, total_kat);
    if (bad)
      fprintf(tf, "%u FAILED (replay with --seed %llu)\n", bad, (unsigned long long)o.seed);
    else
      fprintf(tf, "all passed\n");
    rc = bad ? 1 : 0;
  }
  if (json) {
    fputs(json_first ? "]\n" : "\n]\n", json);
    if (json != stdout) fclose(json);
  }
out:
  bench_direct_unload_providers();
  ocf_shutdown();
  return rc;
}
