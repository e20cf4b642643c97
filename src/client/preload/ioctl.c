/* ioctl.c - the cryptodev ioctls of a /dev/crypto descriptor: the
 * dispatcher (under the cfile's lock, after the connection is made this
 * process's), CRIOGET, CIOCKEY (public key), CIOCFINDDEV and CIOCASYMFEAT.
 * The requests with more to them live in session.c, crypt.c, hash.c and
 * authcrypt.c. */
#include "preload_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* --- CIOCKEY and the rest ----------------------------------------------------- */

static int do_key(struct cfile *f, struct crypt_kop *kop) {
  if ((unsigned)kop->crk_iparams + kop->crk_oparams > CRK_MAXPARAM) return EINVAL;
  if (kop->crk_op >= CRK_ALGORITHM_ALL) return EINVAL;
  struct ocf_kreq k;
  memset(&k, 0, sizeof(k));
  k.op = (enum ocf_kop)kop->crk_op;
  k.iparams = kop->crk_iparams;
  k.oparams = kop->crk_oparams;
  for (int i = 0; i < k.iparams + k.oparams; i++) {
    k.param[i].p = kop->crk_param[i].crp_p;
    k.param[i].nbits = kop->crk_param[i].crp_nbits;
    if (k.param[i].nbits && k.param[i].p == NULL) return EFAULT;
  }
  int rc = ocfdev_kop(f->dev, &k);
  if (rc == 0) {
    kop->crk_status = (uint32_t)k.status;
    for (int i = k.iparams; i < k.iparams + k.oparams; i++)
      kop->crk_param[i].crp_nbits = (uint32_t)k.param[i].nbits;
  }
  return pl_kerr(rc);
}

static int do_finddev(struct cfile *f, struct crypt_find_op *fo) {
  struct ocfdev_driver drv[64];
  int n;
  int rc = ocfdev_drivers(f->dev, drv, 64, &n);
  if (rc) return pl_kerr(rc);
  for (int i = 0; i < n && i < 64; i++) {
    if (fo->crid == -1 ? strncmp(fo->name, drv[i].name, sizeof(fo->name)) == 0
                       : (uint32_t)fo->crid == drv[i].hid) {
      fo->crid = (int)drv[i].hid;
      snprintf(fo->name, sizeof(fo->name), "%s", drv[i].name);
      return 0;
    }
  }
  return ENOENT;
}

int pl_cd_ioctl(int fd, struct cfile *f, unsigned long req, void *arg) {
  /* The kernel copies the argument in and answers EFAULT for an address it
   * cannot read.  The shim reads it in place: it catches the null page,
   * which is what a program's bug most often hands over, and would fault on
   * a wild pointer (probing every address would cost system calls). */
  if ((uintptr_t)arg < 4096 && _IOC_SIZE(req) > 0) {
    errno = EFAULT;
    return -1;
  }
  pthread_mutex_lock(&f->lock);
  int rc = pl_revive(f);
  if (rc == 0) {
    switch (req) {
      case CRIOGET: {
        /* Linux: a new descriptor on the same file, which outlives fd. */
        int nfd = real_fcntl(fd, F_DUPFD, 0);
        if (nfd < 0) {
          rc = errno;
          break;
        }
        pthread_mutex_lock(&pl_tab_lock);
        rc = pl_bind_fd(nfd, f);
        pthread_mutex_unlock(&pl_tab_lock);
        if (rc)
          real_close(nfd);
        else
          *(__u32 *)arg = (__u32)nfd;
        break;
      }
      case CIOCGSESSION:
        rc = pl_do_gsession(f, arg);
        break;
      case CIOCFSESSION:
        rc = pl_do_fsession(f, *(__u32 *)arg);
        break;
      case CIOCGSESSINFO:
        rc = pl_do_sessinfo(f, arg);
        break;
      case CIOCCRYPT:
        rc = pl_do_crypt(f, arg);
        break;
      case CIOCAUTHCRYPT:
        rc = pl_do_authcrypt(f, arg);
        break;
      case CIOCCPHASH:
        rc = pl_do_cphash(f, arg);
        break;
      case CIOCASYNCCRYPT:
        rc = pl_do_asynccrypt(f, arg);
        break;
      case CIOCASYNCFETCH:
        rc = pl_do_asyncfetch(f, arg);
        break;
      case CIOCKEY:
        rc = do_key(f, arg);
        break;
      case CIOCFINDDEV:
        rc = do_finddev(f, arg);
        break;
      case CIOCASYMFEAT: {
        uint32_t feat = 0;
        rc = pl_kerr(ocfdev_asymfeat(f->dev, &feat));
        /* The native protocol also reports libocf's operations beyond the
         * paper's five; the cryptodev ABI has bits for those five only. */
        if (rc == 0) *(__u32 *)arg = feat & ((1u << CRK_ALGORITHM_ALL) - 1);
        break;
      }
      default:
        rc = EINVAL;
        break;
    }
  }
  pthread_mutex_unlock(&f->lock);
  if (rc) {
    errno = rc;
    return -1;
  }
  return 0;
}
