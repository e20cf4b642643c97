/* released/crypto/cryptodev.h - the /dev/crypto ABI as cryptodev-linux releases it
 * (crypto/cryptodev.h of 1.12 to 1.14 and master), written out here for the
 * test programs instead of being taken from include/ocf/cryptodev.h.  The
 * suite's cryptodev programs compile against these declarations, as a
 * program built against the real header would, so a change to the project's
 * header that moves a field or an ioctl number fails the tests instead of
 * passing unseen.  test_cdev_abi.c checks these declarations against the
 * released sizes, offsets and numbers written there as literals.
 *
 * Never include <ocf/cryptodev.h> together with this file. */
#ifndef OCF_TESTS_CRYPTODEV_RELEASED_H
#define OCF_TESTS_CRYPTODEV_RELEASED_H

#include <linux/types.h>
#include <sys/ioctl.h>

/* Algorithm ids (enum cryptodev_crypto_op_t). */
#define CRYPTO_DES_CBC 1
#define CRYPTO_3DES_CBC 2
#define CRYPTO_BLF_CBC 3
#define CRYPTO_CAST_CBC 4
#define CRYPTO_SKIPJACK_CBC 5
#define CRYPTO_MD5_HMAC 6
#define CRYPTO_SHA1_HMAC 7
#define CRYPTO_RIPEMD160_HMAC 8
#define CRYPTO_MD5_KPDK 9
#define CRYPTO_SHA1_KPDK 10
#define CRYPTO_RIJNDAEL128_CBC 11
#define CRYPTO_AES_CBC 11
#define CRYPTO_ARC4 12
#define CRYPTO_MD5 13
#define CRYPTO_SHA1 14
#define CRYPTO_DEFLATE_COMP 15
#define CRYPTO_NULL 16
#define CRYPTO_LZS_COMP 17
#define CRYPTO_SHA2_256_HMAC 18
#define CRYPTO_SHA2_384_HMAC 19
#define CRYPTO_SHA2_512_HMAC 20
#define CRYPTO_AES_CTR 21
#define CRYPTO_AES_XTS 22
#define CRYPTO_AES_ECB 23
#define CRYPTO_AES_GCM 50
#define CRYPTO_CAMELLIA_CBC 101
#define CRYPTO_RIPEMD160 102
#define CRYPTO_SHA2_224 103
#define CRYPTO_SHA2_256 104
#define CRYPTO_SHA2_384 105
#define CRYPTO_SHA2_512 106
#define CRYPTO_SHA2_224_HMAC 107
#define CRYPTO_TLS11_AES_CBC_HMAC_SHA1 108
#define CRYPTO_TLS12_AES_CBC_HMAC_SHA256 109
#define CRYPTO_ALGORITHM_ALL 110

#define CRYPTO_HMAC_MAX_KEY_LEN 512
#define CRYPTO_CIPHER_MAX_KEY_LEN 64
#define CRYPTODEV_MAX_ALG_NAME 64
#define AALG_MAX_RESULT_LEN 64
#define HASH_MAX_LEN 64

struct session_op {
  __u32 cipher;
  __u32 mac;
  __u32 keylen;
  __u8 *key;
  __u32 mackeylen;
  __u8 *mackey;
  __u32 ses;
};

struct alg_info {
  char cra_name[CRYPTODEV_MAX_ALG_NAME];
  char cra_driver_name[CRYPTODEV_MAX_ALG_NAME];
};

struct session_info_op {
  __u32 ses;
  struct alg_info cipher_info, hash_info;
  __u16 alignmask;
  __u32 flags;
};

#define SIOP_FLAG_KERNEL_DRIVER_ONLY 1

#define COP_ENCRYPT 0
#define COP_DECRYPT 1

struct crypt_op {
  __u32 ses;
  __u16 op;
  __u16 flags;
  __u32 len;
  __u8 *src;
  __u8 *dst;
  __u8 *mac;
  __u8 *iv;
};

struct crypt_auth_op {
  __u32 ses;
  __u16 op;
  __u16 flags;
  __u32 len;
  __u32 auth_len;
  __u8 *auth_src;
  __u8 *src;
  __u8 *dst;
  __u8 *tag;
  __u32 tag_len;
  __u8 *iv;
  __u32 iv_len;
};

#define COP_FLAG_NONE 0
#define COP_FLAG_UPDATE 1
#define COP_FLAG_FINAL 2
#define COP_FLAG_WRITE_IV 4
#define COP_FLAG_NO_ZC 8
#define COP_FLAG_AEAD_TLS_TYPE 16
#define COP_FLAG_AEAD_SRTP_TYPE 32
#define COP_FLAG_RESET 64

struct crparam {
  __u8 *crp_p;
  __u32 crp_nbits;
};

#define CRK_MAXPARAM 8

struct crypt_kop {
  __u32 crk_op;
  __u32 crk_status;
  __u16 crk_iparams;
  __u16 crk_oparams;
  __u32 crk_pad1;
  struct crparam crk_param[CRK_MAXPARAM];
};

#define CRK_MOD_EXP 0
#define CRK_MOD_EXP_CRT 1
#define CRK_DSA_SIGN 2
#define CRK_DSA_VERIFY 3
#define CRK_DH_COMPUTE_KEY 4
#define CRK_ALGORITHM_ALL 5

#define CRF_MOD_EXP (1 << CRK_MOD_EXP)
#define CRF_MOD_EXP_CRT (1 << CRK_MOD_EXP_CRT)
#define CRF_DSA_SIGN (1 << CRK_DSA_SIGN)
#define CRF_DSA_VERIFY (1 << CRK_DSA_VERIFY)
#define CRF_DH_COMPUTE_KEY (1 << CRK_DH_COMPUTE_KEY)

struct cphash_op {
  __u32 dst_ses;
  __u32 src_ses;
};

#define CRIOGET _IOWR('c', 101, __u32)
#define CIOCGSESSION _IOWR('c', 102, struct session_op)
#define CIOCFSESSION _IOW('c', 103, __u32)
#define CIOCCRYPT _IOWR('c', 104, struct crypt_op)
#define CIOCKEY _IOWR('c', 105, struct crypt_kop)
#define CIOCASYMFEAT _IOR('c', 106, __u32)
#define CIOCGSESSINFO _IOWR('c', 107, struct session_info_op)
#define CRIOGET_NOT_NEEDED 1
#define CIOCAUTHCRYPT _IOWR('c', 109, struct crypt_auth_op)
#define CIOCASYNCCRYPT _IOW('c', 110, struct crypt_op)
#define CIOCASYNCFETCH _IOR('c', 111, struct crypt_op)
#define CIOCCPHASH _IOW('c', 112, struct cphash_op)

/* The project's extension (not in cryptodev-linux): FreeBSD's CIOCFINDDEV,
 * as ocfd(8) documents it. */
struct crypt_find_op {
  int crid;
  char name[32];
};
#define CIOCFINDDEV _IOWR('c', 108, struct crypt_find_op)

#endif /* OCF_TESTS_CRYPTODEV_RELEASED_H */
