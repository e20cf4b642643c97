/*
 * cryptodev.h - the /dev/crypto ABI of Linux cryptodev-linux (which follows
 * OpenBSD's cryptodev interface), for programs that drive /dev/crypto with
 * ioctl().  Every structure, field, ioctl number and algorithm id below is
 * that of cryptodev-linux's released <crypto/cryptodev.h> (1.12 to 1.14 and
 * its master branch), so a program built against that header and one built
 * against this one are the same binary.  tests/test_cdev_abi.c pins the
 * layouts (x86-64 and i386) and numbers to the released values.  Run such a
 * program with LD_PRELOAD=libocfpreload.so and its /dev/crypto becomes the
 * ocfd daemon.
 *
 * The project's additions are new ioctls with structures of their own, never
 * fields in the released structures: CIOCFINDDEV (FreeBSD's struct
 * crypt_find_op).  CIOCKEY is cryptodev-linux's, which the module itself
 * leaves unimplemented; here it works.
 */
#ifndef OCF_CRYPTODEV_H
#define OCF_CRYPTODEV_H

#include <linux/types.h>
#include <sys/ioctl.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef __user
#define __user
#endif

/* Key length limits checked at CIOCGSESSION. */
#define CRYPTO_HMAC_MAX_KEY_LEN 512
#define CRYPTO_CIPHER_MAX_KEY_LEN 64

/* cryptodev_crypto_op_t - algorithm ids for session_op.cipher / .mac. */
enum cryptodev_crypto_op_t {
  CRYPTO_DES_CBC = 1,
  CRYPTO_3DES_CBC = 2,
  CRYPTO_BLF_CBC = 3,
  CRYPTO_CAST_CBC = 4,
  CRYPTO_SKIPJACK_CBC = 5,
  CRYPTO_MD5_HMAC = 6,
  CRYPTO_SHA1_HMAC = 7,
  CRYPTO_RIPEMD160_HMAC = 8,
  CRYPTO_MD5_KPDK = 9,
  CRYPTO_SHA1_KPDK = 10,
  CRYPTO_RIJNDAEL128_CBC = 11,
  CRYPTO_AES_CBC = CRYPTO_RIJNDAEL128_CBC,
  CRYPTO_ARC4 = 12,
  CRYPTO_MD5 = 13,
  CRYPTO_SHA1 = 14,
  CRYPTO_DEFLATE_COMP = 15,
  CRYPTO_NULL = 16,
  CRYPTO_LZS_COMP = 17,
  CRYPTO_SHA2_256_HMAC = 18,
  CRYPTO_SHA2_384_HMAC = 19,
  CRYPTO_SHA2_512_HMAC = 20,
  CRYPTO_AES_CTR = 21,
  CRYPTO_AES_XTS = 22,
  CRYPTO_AES_ECB = 23,
  CRYPTO_AES_GCM = 50,
  CRYPTO_CAMELLIA_CBC = 101,
  CRYPTO_RIPEMD160,
  CRYPTO_SHA2_224,
  CRYPTO_SHA2_256,
  CRYPTO_SHA2_384,
  CRYPTO_SHA2_512,
  CRYPTO_SHA2_224_HMAC,
  CRYPTO_TLS11_AES_CBC_HMAC_SHA1,
  CRYPTO_TLS12_AES_CBC_HMAC_SHA256,
  CRYPTO_ALGORITHM_ALL
};

#define CRYPTO_ALGORITHM_MAX (CRYPTO_ALGORITHM_ALL - 1)

/* Block sizes. */
#define DES_BLOCK_LEN 8
#define DES3_BLOCK_LEN 8
#define RIJNDAEL128_BLOCK_LEN 16
#define AES_BLOCK_LEN RIJNDAEL128_BLOCK_LEN
#define CAMELLIA_BLOCK_LEN 16
#define BLOWFISH_BLOCK_LEN 8
#define SKIPJACK_BLOCK_LEN 8
#define CAST128_BLOCK_LEN 8
#define EALG_MAX_BLOCK_LEN 16

/* Longest MAC / hash output. */
#define AALG_MAX_RESULT_LEN 64
#define CRYPTODEV_MAX_ALG_NAME 64
#define HASH_MAX_LEN 64

/* session_op - argument of CIOCGSESSION: cipher and/or mac (0 = none).
 * 48 bytes on x86-64, keylen at offset 8. */
struct session_op {
  __u32 cipher; /* cryptodev_crypto_op_t */
  __u32 mac;    /* cryptodev_crypto_op_t */
  __u32 keylen;
  __u8 __user *key;
  __u32 mackeylen;
  __u8 __user *mackey;
  __u32 ses; /* out: session id */
};

/* session_info_op - argument of CIOCGSESSINFO: names of what serves a
 * session.  268 bytes (x86-64 and i386). */
struct session_info_op {
  __u32 ses;
  struct alg_info {
    char cra_name[CRYPTODEV_MAX_ALG_NAME];
    char cra_driver_name[CRYPTODEV_MAX_ALG_NAME];
  } cipher_info, hash_info;
  __u16 alignmask;
  __u32 flags; /* SIOP_FLAG_* */
};

/* SIOP_FLAG_KERNEL_DRIVER_ONLY: served by a hardware producer. */
#define SIOP_FLAG_KERNEL_DRIVER_ONLY 1

#define COP_ENCRYPT 0
#define COP_DECRYPT 1

/* crypt_op - argument of CIOCCRYPT, CIOCASYNCCRYPT and CIOCASYNCFETCH. */
struct crypt_op {
  __u32 ses;
  __u16 op;    /* COP_ENCRYPT or COP_DECRYPT */
  __u16 flags; /* COP_FLAG_* */
  __u32 len;   /* source length */
  __u8 __user *src;
  __u8 __user *dst;
  __u8 __user *mac; /* hash / MAC output */
  __u8 __user *iv;  /* NULL: continue from the session's current IV */
};

/* crypt_auth_op - argument of CIOCAUTHCRYPT (AEAD, TLS and SRTP modes). */
struct crypt_auth_op {
  __u32 ses;
  __u16 op;
  __u16 flags;
  __u32 len;      /* in: payload length (decrypt: including the tag); out: output length */
  __u32 auth_len; /* authenticated-only data */
  __u8 __user *auth_src;
  __u8 __user *src;
  __u8 __user *dst; /* encrypt: room for len + tag (+ a block of padding in TLS mode) */
  __u8 __user *tag; /* SRTP mode: where the tag goes */
  __u32 tag_len;    /* 0 = the full tag */
  __u8 __user *iv;
  __u32 iv_len;
};

/* crypt_op / crypt_auth_op flags */
#define COP_FLAG_NONE (0 << 0)
#define COP_FLAG_UPDATE (1 << 0)   /* multi-part hash: add data, no result yet */
#define COP_FLAG_FINAL (1 << 1)    /* multi-part hash: add data and finish */
#define COP_FLAG_WRITE_IV (1 << 2) /* write the next IV back into iv */
#define COP_FLAG_NO_ZC (1 << 3)    /* do not zero-copy (accepted, no effect) */
#define COP_FLAG_AEAD_TLS_TYPE (1 << 4)
#define COP_FLAG_AEAD_SRTP_TYPE (1 << 5)
#define COP_FLAG_RESET (1 << 6) /* multi-part hash: start over (with UPDATE) */

/* Public-key requests. */
#define CRYPTO_ALG_FLAG_SUPPORTED 1
#define CRYPTO_ALG_FLAG_RNG_ENABLE 2
#define CRYPTO_ALG_FLAG_DSA_SHA 4

/* crparam - one big integer, little-endian, crp_nbits significant bits. */
struct crparam {
  __u8 *crp_p;
  __u32 crp_nbits;
};

#define CRK_MAXPARAM 8

/* crypt_kop - argument of CIOCKEY. */
struct crypt_kop {
  __u32 crk_op; /* cryptodev_crk_op_t */
  __u32 crk_status;
  __u16 crk_iparams;
  __u16 crk_oparams;
  __u32 crk_pad1;
  struct crparam crk_param[CRK_MAXPARAM];
};

enum cryptodev_crk_op_t {
  CRK_MOD_EXP = 0,
  CRK_MOD_EXP_CRT = 1,
  CRK_DSA_SIGN = 2,
  CRK_DSA_VERIFY = 3,
  CRK_DH_COMPUTE_KEY = 4,
  CRK_ALGORITHM_ALL
};

#define CRK_ALGORITHM_MAX (CRK_ALGORITHM_ALL - 1)

/* cphash_op - argument of CIOCCPHASH: copy a hash state between sessions. */
struct cphash_op {
  __u32 dst_ses;
  __u32 src_ses;
};

/* crypt_find_op - argument of CIOCFINDDEV (FreeBSD): by crid or by name. */
struct crypt_find_op {
  int crid;      /* -1 = look up by name */
  char name[32]; /* producer name */
};

/* CIOCASYMFEAT answer bits. */
#define CRF_MOD_EXP (1 << CRK_MOD_EXP)
#define CRF_MOD_EXP_CRT (1 << CRK_MOD_EXP_CRT)
#define CRF_DSA_SIGN (1 << CRK_DSA_SIGN)
#define CRF_DSA_VERIFY (1 << CRK_DSA_VERIFY)
#define CRF_DH_COMPUTE_KEY (1 << CRK_DH_COMPUTE_KEY)

#define CRIOGET _IOWR('c', 101, __u32)
#define CIOCGSESSION _IOWR('c', 102, struct session_op)
#define CIOCFSESSION _IOW('c', 103, __u32)
#define CIOCCRYPT _IOWR('c', 104, struct crypt_op)
#define CIOCKEY _IOWR('c', 105, struct crypt_kop)
#define CIOCASYMFEAT _IOR('c', 106, __u32)
#define CIOCGSESSINFO _IOWR('c', 107, struct session_info_op)
#define CIOCFINDDEV _IOWR('c', 108, struct crypt_find_op)
#define CRIOGET_NOT_NEEDED 1
#define CIOCAUTHCRYPT _IOWR('c', 109, struct crypt_auth_op)
#define CIOCASYNCCRYPT _IOW('c', 110, struct crypt_op)
#define CIOCASYNCFETCH _IOR('c', 111, struct crypt_op)
#define CIOCCPHASH _IOW('c', 112, struct cphash_op)

#ifdef __cplusplus
}
#endif
#endif /* OCF_CRYPTODEV_H */
