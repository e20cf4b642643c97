/* hash.c - hash and MAC streams: cryptodev's COP_FLAG_UPDATE / FINAL parts
 * stream into the daemon's session (no running state is kept here), and
 * CIOCCPHASH copies that state from one session to another.  Separate
 * because a stream has rules of its own (order of parts, what a forked child
 * may continue) that CIOCCRYPT and the asynchronous path both follow. */
#include "preload_int.h"

#include <errno.h>
#include <stdlib.h>

/* pl_part_flags: cryptodev's hash flags as the framework's streamed-digest
 * flags.  The kernel module resets on no flag or RESET, and finishes on
 * FINAL, on no UPDATE, or on an empty part. */
unsigned pl_part_flags(const struct crypt_op *cop, bool *final) {
  bool reset = cop->flags == 0 || (cop->flags & COP_FLAG_RESET);
  *final = (cop->flags & COP_FLAG_FINAL) || !(cop->flags & COP_FLAG_UPDATE) || cop->len == 0;
  return (*final ? OCF_D_FINAL : OCF_D_UPDATE) | (reset ? OCF_D_RESET : 0);
}

/* pl_stream_step keeps track of an unfinished digest: a forked child cannot
 * continue one its parent began (the state is in the parent's daemon
 * session), so it gets EIO instead of a wrong digest until it resets. */
int pl_stream_step(struct csess *s, unsigned flags, bool final) {
  if (flags & OCF_D_RESET) s->stream_lost = false;
  if (s->stream_lost) return EIO;
  s->midstream = !final;
  return 0;
}

/* pl_hash_parts streams data[len] into the daemon's session, in requests the
 * daemon takes (each one a part of the digest, none kept here); on final
 * the digest goes to mac. */
int pl_hash_parts(struct cfile *f, struct csess *s, const struct crypt_op *cop, const uint8_t *data,
                  size_t len, unsigned flags, uint8_t *mac) {
  /* Pieces of at most 1 MiB: measured faster through the daemon than one
   * request of many megabytes (8 MiB SHA-256: 0.033 s against 0.15 s). */
  size_t max = ocfdev_max_request(f->dev);
  if (max <= s->maclen + 1) return EMSGSIZE;
  max -= s->maclen;
  if (max > (1u << 20)) max = 1u << 20;
  size_t off = 0;
  do {
    size_t k = len - off < max ? len - off : max;
    bool last = off + k == len;
    unsigned fl = last ? flags : OCF_D_UPDATE | (flags & OCF_D_RESET);
    if (off > 0) fl &= ~(unsigned)OCF_D_RESET; /* only the first piece resets */
    struct ocfdev_op op;
    int rc = pl_build_crypt(s, cop, data + off, k, NULL, &op);
    if (rc) return rc;
    op.desc[0].flags = fl;
    if (!(fl & OCF_D_FINAL)) op.desc[0].inject = 0;
    rc = ocfdev_crypt(f->dev, &op);
    if (rc == 0 && (fl & OCF_D_FINAL)) memcpy(mac, (uint8_t *)op.buf + k, s->maclen);
    explicit_bzero(op.buf, op.len);
    free(op.buf);
    if (rc) return rc;
    off += k;
  } while (off < len);
  return 0;
}

/* --- CIOCCPHASH ------------------------------------------------------------- */

int pl_do_cphash(struct cfile *f, const struct cphash_op *cp) {
  if (cp->dst_ses == cp->src_ses) return EDEADLK;
  struct csess *src = pl_sess_find(f, cp->src_ses), *dst = pl_sess_find(f, cp->dst_ses);
  if (src == NULL || dst == NULL) return ENOENT;
  if (src->c || dst->c || src->m == NULL || dst->m == NULL || src->m->alg != dst->m->alg)
    return EINVAL;
  /* The state of an HMAC includes its key: the copy computes with src's. */
  if (src->mkeylen != dst->mkeylen || memcmp(src->mkey, dst->mkey, src->mkeylen) != 0) {
    struct csess tmp = *dst;
    memcpy(tmp.mkey, src->mkey, src->mkeylen);
    tmp.mkeylen = src->mkeylen;
    uint32_t nd;
    int rc = pl_daemon_session(f->dev, &tmp, dst->maclen, &nd, NULL);
    explicit_bzero(tmp.mkey, sizeof(tmp.mkey));
    if (rc) return pl_kerr(rc);
    ocfdev_freesession(f->dev, dst->dses);
    for (struct variant *v = dst->var, *n; v; v = n) {
      n = v->next;
      ocfdev_freesession(f->dev, v->dses);
      free(v);
    }
    dst->var = NULL;
    dst->dses = nd;
    memcpy(dst->mkey, src->mkey, src->mkeylen);
    dst->mkeylen = src->mkeylen;
  }
  return pl_kerr(ocfdev_cphash(f->dev, dst->dses, src->dses));
}
