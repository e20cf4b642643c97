/* crypt.c - CIOCCRYPT, synchronous (through the staging region when there
 * is one) and asynchronous (CIOCASYNCCRYPT / CIOCASYNCFETCH, with the
 * requests in flight kept per cfile), and the IV chaining both share.
 * Separate from the other ioctls because these are the data path. */
#include "preload_int.h"

#include <errno.h>
#include <stdlib.h>

/* --- CIOCCRYPT --------------------------------------------------------------- */

/* pl_next_iv advances the chained IV past len bytes, as the kernel's modes
 * leave it in the request's IV buffer. */
void pl_next_iv(const struct csess *s, bool enc, const uint8_t *in, const uint8_t *out, size_t len,
                uint8_t *iv) {
  if (s->c == NULL) return;
  if (s->c->mode == M_CBC && len >= s->block && s->ivlen == s->block) {
    memcpy(iv, (enc ? out : in) + len - s->block, s->block);
  } else if (s->c->mode == M_CTR && s->ivlen == 16) {
    uint64_t add = (len + 15) / 16;
    for (int i = 15; i >= 0 && add; i--) {
      uint64_t v = iv[i] + (add & 0xff);
      iv[i] = (uint8_t)v;
      add = (add >> 8) + (v >> 8);
    }
  }
}

/* fill_crypt fills op's session and descriptors for a crypt_op on s over
 * len bytes of data (a MAC goes after them); the data are the caller's. */
static void fill_crypt(const struct csess *s, const struct crypt_op *cop, size_t len,
                       const uint8_t *iv, struct ocfdev_op *op) {
  bool enc = cop->op == COP_ENCRYPT;
  memset(op, 0, sizeof(*op));
  op->ses = s->dses;
  op->len = len + (s->m ? s->maclen : 0);
  struct ocf_desc cd = {0}, md = {0};
  if (s->c) {
    cd.alg = s->c->alg;
    cd.flags = (enc ? OCF_D_ENCRYPT : 0) | (s->ivlen ? OCF_D_IV_EXPLICIT : 0);
    cd.len = len;
    if (s->ivlen) memcpy(cd.iv, iv, s->ivlen);
  }
  if (s->m) {
    md.alg = s->m->alg;
    md.len = len;
    md.inject = len;
  }
  /* The kernel hashes the plaintext: before encrypting, after decrypting. */
  if (s->c && s->m) {
    op->desc[0] = enc ? md : cd;
    op->desc[1] = enc ? cd : md;
    op->ndesc = 2;
  } else {
    op->desc[0] = s->c ? cd : md;
    op->ndesc = 1;
  }
}

/* pl_build_crypt fills op for a crypt_op on s; buf gets the data (+ MAC room). */
int pl_build_crypt(struct csess *s, const struct crypt_op *cop, const uint8_t *data, size_t len,
                   const uint8_t *iv, struct ocfdev_op *op) {
  size_t mlen = s->m ? s->maclen : 0;
  uint8_t *buf = malloc(len + mlen + 1);
  if (buf == NULL) return ENOMEM;
  if (len) memcpy(buf, data, len);
  fill_crypt(s, cop, len, iv, op);
  op->buf = buf;
  return 0;
}

int pl_do_crypt(struct cfile *f, struct crypt_op *cop) {
  if (cop->op != COP_ENCRYPT && cop->op != COP_DECRYPT) return EINVAL;
  struct csess *s = pl_sess_find(f, cop->ses);
  if (s == NULL) return EINVAL;
  if (s->c && s->c->mode == M_AEAD) return EINVAL;
  if (cop->len && cop->src == NULL) return EFAULT;
  if (s->c && cop->len % s->block) return EINVAL;
  bool enc = cop->op == COP_ENCRYPT;
  if (s->c == NULL) { /* a hash or MAC: each part streams into the daemon's session */
    bool final;
    unsigned flags = pl_part_flags(cop, &final);
    if (final && cop->mac == NULL) return EFAULT;
    int rc = pl_stream_step(s, flags, final);
    if (rc == 0) rc = pl_hash_parts(f, s, cop, cop->src, cop->len, flags, cop->mac);
    return pl_kerr(rc);
  }
  uint8_t iv[32];
  memcpy(iv, s->iv, sizeof(iv));
  if (cop->iv && s->ivlen) memcpy(iv, cop->iv, s->ivlen);
  if (cop->len == 0 && !s->m) {
    memcpy(s->iv, iv, sizeof(iv));
    if ((cop->flags & COP_FLAG_WRITE_IV) && cop->iv) memcpy(cop->iv, iv, s->ivlen);
    return 0;
  }
  if (cop->len && cop->dst == NULL) return EFAULT;
  if (s->m && cop->mac == NULL) return EFAULT;
  if (cop->len > ocfdev_max_request(f->dev)) return EMSGSIZE;
  struct ocfdev_op op;
  size_t n = cop->len + (s->m ? s->maclen : 0);
  /* In the staging region the request goes through the rings, processed in
   * place: one copy each way and, while the daemon is busy, no system call.
   * Without one, through the socket. */
  uint8_t *out = stage_buf(&f->stage, f->dev, n);
  int rc;
  if (out != NULL) {
    if (cop->len) memcpy(out, cop->src, cop->len);
    fill_crypt(s, cop, cop->len, iv, &op);
    rc = stage_crypt(&f->stage, f->dev, &op, n);
  } else {
    if ((rc = pl_build_crypt(s, cop, cop->src, cop->len, iv, &op)) != 0) return rc;
    rc = ocfdev_crypt(f->dev, &op);
    out = op.buf;
  }
  if (rc == 0) {
    pl_next_iv(s, enc, cop->src, out, cop->len, iv);
    memcpy(s->iv, iv, sizeof(iv));
    if (cop->len) memcpy(cop->dst, out, cop->len);
    if (s->m) memcpy(cop->mac, out + cop->len, s->maclen);
    if ((cop->flags & COP_FLAG_WRITE_IV) && cop->iv) memcpy(cop->iv, iv, s->ivlen);
  }
  /* The staging region is wiped when the connection ends (pl_cfile_free); it
   * holds only this program's data and the next request overwrites them. */
  if (op.shm == NULL) {
    explicit_bzero(op.buf, op.len);
    free(op.buf);
  }
  return pl_kerr(rc);
}

/* --- asynchronous ------------------------------------------------------------- */

/* to_done moves a from flight to the tail of done. */
static void to_done(struct cfile *f, struct apend *a) {
  for (struct apend **pp = &f->flight; *pp; pp = &(*pp)->next)
    if (*pp == a) {
      *pp = a->next;
      break;
    }
  a->next = NULL;
  struct apend **tp = &f->done;
  while (*tp) tp = &(*tp)->next;
  *tp = a;
}

/* part_ahead: is a part of session ses submitted and not done, before a? */
static bool part_ahead(const struct cfile *f, uint32_t ses, const struct apend *a) {
  for (const struct apend *x = f->flight; x != NULL && x != a; x = x->next)
    if (x->part && x->ses == ses) return true;
  return false;
}

/* submit_deferred sends the hash parts whose predecessor has completed: the
 * daemon takes one part of a session at a time, in the order the program
 * gave them (as the kernel module runs them). */
static void submit_deferred(struct cfile *f) {
  for (struct apend *a = f->flight, *next; a != NULL; a = next) {
    next = a->next;
    if (!a->deferred || part_ahead(f, a->ses, a)) continue;
    a->deferred = false;
    int rc = ocfdev_submit(f->dev, &a->op);
    if (rc && !ocfdev_op_busy(&a->op)) { /* not sent: completes with the error */
      a->err = pl_kerr(rc);
      to_done(f, a);
    }
  }
}

void pl_collect(struct cfile *f) {
  struct ocfdev_op *ops[64];
  int n;
  bool any = false;
  while (f->flight && ocfdev_reap(f->dev, ops, 64, 0, &n) == 0 && n > 0) {
    for (int i = 0; i < n; i++) {
      struct apend *a = ops[i]->opaque;
      any = any || a->part;
      to_done(f, a);
    }
  }
  if (any) submit_deferred(f);
}

int pl_do_asynccrypt(struct cfile *f, const struct crypt_op *cop) {
  if (cop->op != COP_ENCRYPT && cop->op != COP_DECRYPT) return EINVAL;
  if (cop->flags & COP_FLAG_NO_ZC) return EINVAL;
  struct csess *s = pl_sess_find(f, cop->ses);
  if (s == NULL) return EINVAL;
  pl_collect(f);
  if (f->nasync >= MAX_ASYNC) return EBUSY;
  struct apend *a = calloc(1, sizeof(*a));
  if (a == NULL) return ENOMEM;
  a->cop = *cop;
  a->ses = cop->ses;
  a->enc = cop->op == COP_ENCRYPT;
  int rc = 0;
  if (s->c && s->c->mode == M_AEAD)
    rc = EINVAL;
  else if (cop->len && (cop->src == NULL || (s->c && cop->dst == NULL)))
    rc = EFAULT;
  else if (s->c && cop->len % s->block)
    rc = EINVAL;
  unsigned pflags = 0;
  if (s->c == NULL && s->m != NULL) { /* a hash part, streamed like CIOCCRYPT's */
    a->part = true;
    pflags = pl_part_flags(cop, &a->final);
  }
  if (rc == 0 && s->m && cop->mac == NULL && (!a->part || a->final)) rc = EFAULT;
  if (rc == 0 && cop->len + (s->m ? s->maclen : 0) > ocfdev_max_request(f->dev)) rc = EMSGSIZE;
  if (rc == 0 && a->part) rc = pl_stream_step(s, pflags, a->final);
  uint8_t iv[32];
  memcpy(iv, s->iv, sizeof(iv));
  if (cop->iv && s->ivlen) memcpy(iv, cop->iv, s->ivlen);
  if (rc == 0) rc = pl_build_crypt(s, cop, cop->src, cop->len, iv, &a->op);
  if (rc == 0 && a->part) {
    a->op.desc[0].flags = pflags;
    a->op.opaque = a;
    /* behind another part of its session: sent when that one completes */
    a->deferred = part_ahead(f, cop->ses, NULL);
    if (!a->deferred) {
      rc = ocfdev_submit(f->dev, &a->op);
      if (rc && !ocfdev_op_busy(&a->op)) {
        free(a->op.buf);
        free(a);
        return pl_kerr(rc);
      }
    }
    struct apend **tp = &f->flight;
    while (*tp) tp = &(*tp)->next;
    *tp = a;
    f->nasync++;
    return 0;
  }
  if (rc == 0) {
    a->op.opaque = a;
    /* Chain what is known now, so IV-less requests in a row line up. */
    if (!(a->enc && s->c && s->c->mode == M_CBC)) {
      pl_next_iv(s, a->enc, cop->src, NULL, cop->len, iv);
      memcpy(s->iv, iv, sizeof(iv));
    }
    rc = ocfdev_submit(f->dev, &a->op);
    if (rc && !ocfdev_op_busy(&a->op)) { /* not sent */
      free(a->op.buf);
      free(a);
      return pl_kerr(rc);
    }
    a->next = f->flight;
    /* append to keep submission order */
    a->next = NULL;
    struct apend **tp = &f->flight;
    while (*tp) tp = &(*tp)->next;
    *tp = a;
    f->nasync++;
    return 0;
  }
  if (a->op.buf) free(a->op.buf);
  free(a);
  return rc;
}

int pl_do_asyncfetch(struct cfile *f, struct crypt_op *out) {
  pl_collect(f);
  struct apend *a = f->done;
  if (a == NULL) return EBUSY;
  f->done = a->next;
  f->nasync--;
  struct crypt_op *cop = &a->cop;
  struct csess *s = pl_sess_find(f, a->ses);
  int rc = a->err ? a->err : a->op.error;
  if (rc == 0 && s) {
    uint8_t *buf = a->op.buf;
    if (s->c && cop->len) memcpy(cop->dst, buf, cop->len);
    if (s->m && (!a->part || a->final)) memcpy(cop->mac, buf + cop->len, s->maclen);
    if (s->c) {
      uint8_t iv[32];
      memcpy(iv, s->c ? a->op.desc[s->m && a->enc ? 1 : 0].iv : s->iv, sizeof(iv));
      pl_next_iv(s, a->enc, cop->src, buf, cop->len, iv);
      if (a->enc && s->c->mode == M_CBC) memcpy(s->iv, iv, sizeof(iv));
      if ((cop->flags & COP_FLAG_WRITE_IV) && cop->iv) memcpy(cop->iv, iv, s->ivlen);
    }
  }
  *out = *cop;
  if (a->op.buf) explicit_bzero(a->op.buf, a->op.len);
  pl_apend_free(a);
  return pl_kerr(rc);
}
