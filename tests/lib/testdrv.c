/* testdrv.c - see testdrv.h. */
#include "testdrv.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tsess {
  uint8_t key[32];
  size_t keylen;
  enum ocf_alg cipher;
  atomic_int dead;    /* freesession was called */
  struct tsess *next; /* the graveyard, freed at detach */
};

struct testdrv {
  uint32_t hid;
  int async, ring, broken, delay_us;
  size_t delay_from;
  pthread_t thr;
  pthread_mutex_t m;
  pthread_cond_t cv;
  struct ocf_req **q; /* [m] ring of accepted requests */
  int qhead, qcount;
  struct ocf_kreq *kq[64];
  int kcount;
  int kdelay_us;
  int hang, stop, blocked; /* [m] */
  int gate, gated;         /* [m] */
  atomic_ulong processed, zombies;
  atomic_long sessions;
  struct tsess *graveyard; /* [m] */
};

static int t_newsession(void *softc, void **dsess, const struct ocf_sessparam *c) {
  struct testdrv *t = softc;
  struct tsess *s = calloc(1, sizeof(*s));
  if (s == NULL) return ENOMEM;
  s->cipher = c->alg;
  s->keylen = c->keylen;
  if (c->keylen) memcpy(s->key, c->key, c->keylen);
  *dsess = s;
  atomic_fetch_add(&t->sessions, 1);
  return 0;
}

static void t_freesession(void *softc, void *dsess) {
  struct testdrv *t = softc;
  struct tsess *s = dsess;
  ocf_wipe(s->key, sizeof(s->key));
  atomic_store(&s->dead, 1);
  pthread_mutex_lock(&t->m);
  s->next = t->graveyard;
  t->graveyard = s;
  pthread_mutex_unlock(&t->m);
  atomic_fetch_sub(&t->sessions, 1);
}

/* The actual computation, through a flat bounce copy (speed is no concern). */
static int compute(struct tsess *s, struct ocf_req *r) {
  struct ocf_desc *d = &r->desc[0];
  const struct ocf_buf *dst = r->out.type != OCF_BUF_NONE ? &r->out : &r->buf;
  uint8_t *tmp = malloc(d->len ? d->len : 1);
  if (tmp == NULL) return ENOMEM;
  int rc = ocf_buf_copyout(&r->buf, d->skip, tmp, d->len);
  if (rc == 0 && s->cipher == OCF_ALG_AES_CBC) {
    uint8_t iv[16];
    if (d->flags & OCF_D_IV_EXPLICIT)
      memcpy(iv, d->iv, 16);
    else if (d->flags & OCF_D_IV_PRESENT)
      rc = ocf_buf_copyout(&r->buf, d->iv_off, iv, 16);
    else {
      ocf_random(iv, 16);
      memcpy(d->iv, iv, 16);
      rc = ocf_buf_copyin(dst, d->iv_off, iv, 16);
    }
    const EVP_CIPHER *c = s->keylen == 16   ? EVP_aes_128_cbc()
                          : s->keylen == 24 ? EVP_aes_192_cbc()
                                            : EVP_aes_256_cbc();
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0, fl = 0;
    if (rc == 0 && (ctx == NULL ||
                    !EVP_CipherInit_ex(ctx, c, NULL, s->key, iv, !!(d->flags & OCF_D_ENCRYPT)) ||
                    !EVP_CIPHER_CTX_set_padding(ctx, 0) ||
                    !EVP_CipherUpdate(ctx, tmp, &outl, tmp, (int)d->len) ||
                    !EVP_CipherFinal_ex(ctx, tmp + outl, &fl)))
      rc = EIO;
    EVP_CIPHER_CTX_free(ctx);
  }
  if (rc == 0) rc = ocf_buf_copyin(dst, d->skip, tmp, d->len);
  free(tmp);
  return rc;
}

static void compute_one(struct testdrv *t, struct ocf_req *r) {
  if (atomic_load(&((struct tsess *)r->dsess_)->dead)) atomic_fetch_add(&t->zombies, 1);
  if (!t->async) {
    pthread_mutex_lock(&t->m);
    t->gated++;
    while (t->gate) pthread_cond_wait(&t->cv, &t->m);
    t->gated--;
    pthread_mutex_unlock(&t->m);
  }
  if (t->delay_us > 0 && r->desc[0].len >= t->delay_from) usleep((useconds_t)t->delay_us);
  r->error = compute(r->dsess_, r);
  if (t->broken && r->error == 0) {
    uint8_t b;
    const struct ocf_buf *dst = r->out.type != OCF_BUF_NONE ? &r->out : &r->buf;
    if (ocf_buf_copyout(dst, r->desc[0].skip, &b, 1) == 0) {
      b ^= 0x80;
      ocf_buf_copyin(dst, r->desc[0].skip, &b, 1);
    }
  }
  atomic_fetch_add(&t->processed, 1);
}

static void finish(struct testdrv *t, struct ocf_req *r) {
  compute_one(t, r);
  ocf_done(r);
}

static int kcompute(struct ocf_kreq *k) {
  /* MOD_EXP: params base, exponent, modulus -> result; little-endian. */
  if (k->op != OCF_KOP_MOD_EXP || k->iparams != 3 || k->oparams != 1) return EINVAL;
  BIGNUM *v[4] = {0};
  BN_CTX *ctx = BN_CTX_new();
  int rc = 0;
  for (int i = 0; i < 3; i++)
    v[i] = BN_lebin2bn(k->param[i].p, (int)((k->param[i].nbits + 7) / 8), NULL);
  v[3] = BN_new();
  if (ctx == NULL || !v[0] || !v[1] || !v[2] || !v[3] || BN_is_zero(v[2]) ||
      !BN_mod_exp(v[3], v[0], v[1], v[2], ctx))
    rc = EINVAL;
  size_t outb = (k->param[3].nbits + 7) / 8;
  if (rc == 0 && BN_bn2lebinpad(v[3], k->param[3].p, (int)outb) < 0) rc = ERANGE;
  for (int i = 0; i < 4; i++) BN_free(v[i]);
  BN_CTX_free(ctx);
  return rc;
}

static void *t_thread(void *arg) {
  struct testdrv *t = arg;
  pthread_mutex_lock(&t->m);
  for (;;) {
    while (!t->stop && (t->hang || (t->qcount == 0 && t->kcount == 0)))
      pthread_cond_wait(&t->cv, &t->m);
    if (t->stop && t->qcount == 0 && t->kcount == 0) break;
    if (t->hang && !t->stop) continue;
    if (t->kcount > 0) {
      struct ocf_kreq *k = t->kq[--t->kcount];
      pthread_mutex_unlock(&t->m);
      k->error = kcompute(k);
      k->status = k->error == 0;
      ocf_kdone(k);
      pthread_mutex_lock(&t->m);
      continue;
    }
    /* Take up to 16 and complete them together, like a coalesced interrupt. */
    struct ocf_req *batch[16];
    int nb = 0;
    while (nb < 16 && t->qcount > 0) {
      batch[nb++] = t->q[t->qhead];
      t->qhead = (t->qhead + 1) % t->ring;
      t->qcount--;
    }
    int unblock = t->blocked && t->qcount < t->ring / 2;
    if (unblock) t->blocked = 0;
    pthread_mutex_unlock(&t->m);
    for (int i = 0; i < nb; i++) compute_one(t, batch[i]);
    ocf_done_batch(batch, nb);
    if (unblock) ocf_unblock(t->hid);
    pthread_mutex_lock(&t->m);
  }
  pthread_mutex_unlock(&t->m);
  return NULL;
}

static int t_process(void *softc, void *dsess, struct ocf_req *r) {
  struct testdrv *t = softc;
  if (!t->async) {
    finish(t, r);
    return 0;
  }
  pthread_mutex_lock(&t->m);
  if (t->qcount == t->ring) {
    t->blocked = 1;
    pthread_mutex_unlock(&t->m);
    return OCF_EBUSY_DRV;
  }
  t->q[(t->qhead + t->qcount) % t->ring] = r;
  t->qcount++;
  pthread_cond_signal(&t->cv);
  pthread_mutex_unlock(&t->m);
  return 0;
}

static int t_kprocess(void *softc, struct ocf_kreq *k) {
  struct testdrv *t = softc;
  if (!t->async) {
    if (t->kdelay_us > 0) usleep((useconds_t)t->kdelay_us);
    k->error = kcompute(k);
    k->status = k->error == 0;
    ocf_kdone(k);
    return 0;
  }
  pthread_mutex_lock(&t->m);
  if (t->kcount == 64) {
    pthread_mutex_unlock(&t->m);
    return EBUSY;
  }
  t->kq[t->kcount++] = k;
  pthread_cond_signal(&t->cv);
  pthread_mutex_unlock(&t->m);
  return 0;
}

static const struct ocf_driver_ops t_ops = {
    .newsession = t_newsession,
    .freesession = t_freesession,
    .process = t_process,
    .kprocess = t_kprocess,
};

struct testdrv *testdrv_attach(const struct testdrv_opts *o) {
  struct testdrv *t = calloc(1, sizeof(*t));
  if (t == NULL) return NULL;
  t->async = o->async;
  t->broken = o->broken;
  t->delay_us = o->delay_us;
  t->delay_from = o->delay_from;
  t->kdelay_us = o->kdelay_us;
  t->ring = o->ring > 0 ? o->ring : 1024;
  t->q = calloc((size_t)t->ring, sizeof(*t->q));
  pthread_mutex_init(&t->m, NULL);
  pthread_cond_init(&t->cv, NULL);
  if (t->async) pthread_create(&t->thr, NULL, t_thread, t);
  unsigned flags =
      (o->hardware ? OCF_DRV_HARDWARE : OCF_DRV_SOFTWARE) | (o->async ? 0 : OCF_DRV_SYNC);
  if (ocf_get_driverid(o->name ? o->name : "testdrv", flags, &t_ops, t, &t->hid) != 0) abort();
  ocf_register(t->hid, OCF_ALG_NULL, 0, 0);
  ocf_register(t->hid, OCF_ALG_AES_CBC, 0, 0);
  if (o->with_kops) ocf_kregister(t->hid, OCF_KOP_MOD_EXP, 4096, 0);
  return t;
}

uint32_t testdrv_hid(struct testdrv *t) { return t->hid; }

void testdrv_hang(struct testdrv *t, int on) {
  pthread_mutex_lock(&t->m);
  t->hang = on;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->m);
}

void testdrv_gate(struct testdrv *t, int on) {
  pthread_mutex_lock(&t->m);
  t->gate = on;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->m);
}

int testdrv_gated(struct testdrv *t) {
  pthread_mutex_lock(&t->m);
  int n = t->gated;
  pthread_mutex_unlock(&t->m);
  return n;
}

unsigned long testdrv_zombies(struct testdrv *t) { return atomic_load(&t->zombies); }

unsigned long testdrv_processed(struct testdrv *t) { return atomic_load(&t->processed); }
long testdrv_sessions(struct testdrv *t) { return atomic_load(&t->sessions); }

void testdrv_detach(struct testdrv *t) {
  testdrv_hang(t, 0);
  testdrv_gate(t, 0);
  ocf_unregister_all(t->hid);
  if (t->async) {
    pthread_mutex_lock(&t->m);
    t->stop = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->m);
    pthread_join(t->thr, NULL);
  }
  for (struct tsess *s = t->graveyard, *next; s != NULL; s = next) {
    next = s->next;
    free(s);
  }
  pthread_mutex_destroy(&t->m);
  pthread_cond_destroy(&t->cv);
  free(t->q);
  free(t);
}
