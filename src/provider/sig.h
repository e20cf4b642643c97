/*
 * sig.h - signatures (sig_common.c): one context type for RSA, ECDSA and
 * Ed25519, whose framework halves live in sig_rsa.c and sig_ec.c.
 *
 * Every signature context holds an operation context of the default
 * provider on the same key (d, or dmd for Ed25519's one-shot signatures):
 * it receives every parameter (so it checks them, answers for them, and
 * reports its own errors), and it is the inline path.  The framework path
 * reads the parameters back from it (padding mode, digests, salt length)
 * when it builds a request.
 */
#ifndef OCFPROV_SIG_H
#define OCFPROV_SIG_H

#include "provider/pkey.h"

enum { SOP_NONE = 0, SOP_SIGN, SOP_VERIFY, SOP_VERIFY_RECOVER };

struct sctx {
  struct ocfprov *p;
  enum ktype kt;
  struct okey *key;
  int op;
  EVP_PKEY_CTX *d;   /* the default provider's operation (not Ed25519) */
  EVP_MD_CTX *dmd;   /* Ed25519: the default provider's one-shot operation */
  EVP_MD_CTX *mdctx; /* digest_sign / digest_verify: the message's hash */
  bool digesting;    /* mdctx is in use */
  /* RSA: the settings read back from d (settings() in sig_rsa.c), kept
   * until a parameter changes; the digests are references */
  bool rs_ok;
  int rs_pad, rs_saltlen;
  EVP_MD *rs_md, *rs_mgf1;
};

/* sig_settings_drop forgets the RSA settings read back from d. */
void sig_settings_drop(struct sctx *c);

/* The framework halves: 0 when done (verify: *valid set), or an errno that
 * sends the operation inline. */
int rsa_fw_sign(struct sctx *c, uint8_t *sig, size_t *siglen, size_t sigsize, const uint8_t *tbs,
                size_t tbslen, struct bstat *bs);
int rsa_fw_verify(struct sctx *c, const uint8_t *sig, size_t siglen, const uint8_t *tbs,
                  size_t tbslen, int *valid, struct bstat *bs);
int ec_fw_sign(struct sctx *c, uint8_t *sig, size_t *siglen, size_t sigsize, const uint8_t *tbs,
               size_t tbslen, struct bstat *bs);
int ec_fw_verify(struct sctx *c, const uint8_t *sig, size_t siglen, const uint8_t *tbs,
                 size_t tbslen, int *valid, struct bstat *bs);
int ed_fw_sign(struct sctx *c, uint8_t *sig, size_t *siglen, size_t sigsize, const uint8_t *tbs,
               size_t tbslen, struct bstat *bs);
int ed_fw_verify(struct sctx *c, const uint8_t *sig, size_t siglen, const uint8_t *tbs,
                 size_t tbslen, int *valid, struct bstat *bs);

/* sig_md reads the digest set on c's operation (NULL: none), fetched from
 * the private library context; free it with EVP_MD_free. */
EVP_MD *sig_md(struct sctx *c, const char *param);

#endif /* OCFPROV_SIG_H */
