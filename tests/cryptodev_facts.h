/* cryptodev_facts.h - facts of the released cryptodev-linux ABI (crypto/
 * cryptodev.h of 1.12, 1.13, 1.14 and master, which agree), written down as
 * numbers: sizes, field offsets and ioctl numbers for x86-64 (LP64) and i386
 * (ILP32), and the values of the ids and flags.  Nothing here is computed
 * from a header; the tests compare a header's declarations against these.
 *
 * The i386 column is the same declarations laid out by the i386 System V
 * ABI (4-byte alignment for pointers and 32-bit integers): the structs
 * holding pointers shrink, session_info_op and cphash_op do not.
 *
 * Each list is an X-macro: X(...) is applied to every entry. */
#ifndef OCF_TESTS_CRYPTODEV_FACTS_H
#define OCF_TESTS_CRYPTODEV_FACTS_H

/* X(struct, sizeof on x86-64, sizeof on i386) */
#define CDEV_SIZES(X)          \
  X(session_op, 48, 28)        \
  X(alg_info, 128, 128)        \
  X(session_info_op, 268, 268) \
  X(crypt_op, 48, 28)          \
  X(crypt_auth_op, 72, 44)     \
  X(crparam, 16, 8)            \
  X(crypt_kop, 144, 80)        \
  X(cphash_op, 8, 8)           \
  X(crypt_find_op, 36, 36)

/* X(struct, field, offsetof on x86-64, offsetof on i386) */
#define CDEV_FIELDS(X)                    \
  X(session_op, cipher, 0, 0)             \
  X(session_op, mac, 4, 4)                \
  X(session_op, keylen, 8, 8)             \
  X(session_op, key, 16, 12)              \
  X(session_op, mackeylen, 24, 16)        \
  X(session_op, mackey, 32, 20)           \
  X(session_op, ses, 40, 24)              \
  X(alg_info, cra_name, 0, 0)             \
  X(alg_info, cra_driver_name, 64, 64)    \
  X(session_info_op, ses, 0, 0)           \
  X(session_info_op, cipher_info, 4, 4)   \
  X(session_info_op, hash_info, 132, 132) \
  X(session_info_op, alignmask, 260, 260) \
  X(session_info_op, flags, 264, 264)     \
  X(crypt_op, ses, 0, 0)                  \
  X(crypt_op, op, 4, 4)                   \
  X(crypt_op, flags, 6, 6)                \
  X(crypt_op, len, 8, 8)                  \
  X(crypt_op, src, 16, 12)                \
  X(crypt_op, dst, 24, 16)                \
  X(crypt_op, mac, 32, 20)                \
  X(crypt_op, iv, 40, 24)                 \
  X(crypt_auth_op, ses, 0, 0)             \
  X(crypt_auth_op, op, 4, 4)              \
  X(crypt_auth_op, flags, 6, 6)           \
  X(crypt_auth_op, len, 8, 8)             \
  X(crypt_auth_op, auth_len, 12, 12)      \
  X(crypt_auth_op, auth_src, 16, 16)      \
  X(crypt_auth_op, src, 24, 20)           \
  X(crypt_auth_op, dst, 32, 24)           \
  X(crypt_auth_op, tag, 40, 28)           \
  X(crypt_auth_op, tag_len, 48, 32)       \
  X(crypt_auth_op, iv, 56, 36)            \
  X(crypt_auth_op, iv_len, 64, 40)        \
  X(crparam, crp_p, 0, 0)                 \
  X(crparam, crp_nbits, 8, 4)             \
  X(crypt_kop, crk_op, 0, 0)              \
  X(crypt_kop, crk_status, 4, 4)          \
  X(crypt_kop, crk_iparams, 8, 8)         \
  X(crypt_kop, crk_oparams, 10, 10)       \
  X(crypt_kop, crk_pad1, 12, 12)          \
  X(crypt_kop, crk_param, 16, 16)         \
  X(cphash_op, dst_ses, 0, 0)             \
  X(cphash_op, src_ses, 4, 4)             \
  X(crypt_find_op, crid, 0, 0)            \
  X(crypt_find_op, name, 4, 4)

/* X(ioctl, number on x86-64, number on i386).  CIOCFINDDEV is the project's
 * extension (FreeBSD's request on a number cryptodev-linux leaves free). */
#define CDEV_IOCTLS(X)                        \
  X(CRIOGET, 0xc0046365u, 0xc0046365u)        \
  X(CIOCGSESSION, 0xc0306366u, 0xc01c6366u)   \
  X(CIOCFSESSION, 0x40046367u, 0x40046367u)   \
  X(CIOCCRYPT, 0xc0306368u, 0xc01c6368u)      \
  X(CIOCKEY, 0xc0906369u, 0xc0506369u)        \
  X(CIOCASYMFEAT, 0x8004636au, 0x8004636au)   \
  X(CIOCGSESSINFO, 0xc10c636bu, 0xc10c636bu)  \
  X(CIOCFINDDEV, 0xc024636cu, 0xc024636cu)    \
  X(CIOCAUTHCRYPT, 0xc048636du, 0xc02c636du)  \
  X(CIOCASYNCCRYPT, 0x4030636eu, 0x401c636eu) \
  X(CIOCASYNCFETCH, 0x8030636fu, 0x801c636fu) \
  X(CIOCCPHASH, 0x40086370u, 0x40086370u)

/* X(name, value): ids, flags and limits, the same on every architecture. */
#define CDEV_CONSTS(X)                     \
  X(CRYPTO_DES_CBC, 1)                     \
  X(CRYPTO_3DES_CBC, 2)                    \
  X(CRYPTO_BLF_CBC, 3)                     \
  X(CRYPTO_CAST_CBC, 4)                    \
  X(CRYPTO_SKIPJACK_CBC, 5)                \
  X(CRYPTO_MD5_HMAC, 6)                    \
  X(CRYPTO_SHA1_HMAC, 7)                   \
  X(CRYPTO_RIPEMD160_HMAC, 8)              \
  X(CRYPTO_MD5_KPDK, 9)                    \
  X(CRYPTO_SHA1_KPDK, 10)                  \
  X(CRYPTO_RIJNDAEL128_CBC, 11)            \
  X(CRYPTO_AES_CBC, 11)                    \
  X(CRYPTO_ARC4, 12)                       \
  X(CRYPTO_MD5, 13)                        \
  X(CRYPTO_SHA1, 14)                       \
  X(CRYPTO_DEFLATE_COMP, 15)               \
  X(CRYPTO_NULL, 16)                       \
  X(CRYPTO_LZS_COMP, 17)                   \
  X(CRYPTO_SHA2_256_HMAC, 18)              \
  X(CRYPTO_SHA2_384_HMAC, 19)              \
  X(CRYPTO_SHA2_512_HMAC, 20)              \
  X(CRYPTO_AES_CTR, 21)                    \
  X(CRYPTO_AES_XTS, 22)                    \
  X(CRYPTO_AES_ECB, 23)                    \
  X(CRYPTO_AES_GCM, 50)                    \
  X(CRYPTO_CAMELLIA_CBC, 101)              \
  X(CRYPTO_RIPEMD160, 102)                 \
  X(CRYPTO_SHA2_224, 103)                  \
  X(CRYPTO_SHA2_256, 104)                  \
  X(CRYPTO_SHA2_384, 105)                  \
  X(CRYPTO_SHA2_512, 106)                  \
  X(CRYPTO_SHA2_224_HMAC, 107)             \
  X(CRYPTO_TLS11_AES_CBC_HMAC_SHA1, 108)   \
  X(CRYPTO_TLS12_AES_CBC_HMAC_SHA256, 109) \
  X(CRYPTO_ALGORITHM_ALL, 110)             \
  X(CRYPTO_HMAC_MAX_KEY_LEN, 512)          \
  X(CRYPTO_CIPHER_MAX_KEY_LEN, 64)         \
  X(CRYPTODEV_MAX_ALG_NAME, 64)            \
  X(AALG_MAX_RESULT_LEN, 64)               \
  X(HASH_MAX_LEN, 64)                      \
  X(SIOP_FLAG_KERNEL_DRIVER_ONLY, 1)       \
  X(COP_ENCRYPT, 0)                        \
  X(COP_DECRYPT, 1)                        \
  X(COP_FLAG_NONE, 0)                      \
  X(COP_FLAG_UPDATE, 1)                    \
  X(COP_FLAG_FINAL, 2)                     \
  X(COP_FLAG_WRITE_IV, 4)                  \
  X(COP_FLAG_NO_ZC, 8)                     \
  X(COP_FLAG_AEAD_TLS_TYPE, 16)            \
  X(COP_FLAG_AEAD_SRTP_TYPE, 32)           \
  X(COP_FLAG_RESET, 64)                    \
  X(CRK_MAXPARAM, 8)                       \
  X(CRK_MOD_EXP, 0)                        \
  X(CRK_MOD_EXP_CRT, 1)                    \
  X(CRK_DSA_SIGN, 2)                       \
  X(CRK_DSA_VERIFY, 3)                     \
  X(CRK_DH_COMPUTE_KEY, 4)                 \
  X(CRK_ALGORITHM_ALL, 5)                  \
  X(CRF_MOD_EXP, 1)                        \
  X(CRF_MOD_EXP_CRT, 2)                    \
  X(CRF_DSA_SIGN, 4)                       \
  X(CRF_DSA_VERIFY, 8)                     \
  X(CRF_DH_COMPUTE_KEY, 16)                \
  X(CRIOGET_NOT_NEEDED, 1)

/* CDEV_ABI_STATIC_ASSERTS() checks, at compile time, whatever cryptodev
 * declarations are in scope against the facts of the architecture being
 * compiled for.  Use it at file scope. */
#if defined(__x86_64__) && defined(__LP64__)
#define CDEV_COL(lp64, ilp32) (lp64)
#elif defined(__i386__)
#define CDEV_COL(lp64, ilp32) (ilp32)
#endif

#ifdef CDEV_COL
#define CDEV_SA_SIZE_(s, a, b) \
  _Static_assert(sizeof(struct s) == CDEV_COL(a, b), "sizeof(struct " #s ")");
#define CDEV_SA_FIELD_(s, f, a, b)                                  \
  _Static_assert(__builtin_offsetof(struct s, f) == CDEV_COL(a, b), \
                 "offsetof(struct " #s ", " #f ")");
#define CDEV_SA_IOCTL_(n, a, b) _Static_assert((unsigned)(n) == CDEV_COL(a, b), #n);
#define CDEV_SA_CONST_(n, v) _Static_assert((n) == (v), #n);
#define CDEV_ABI_STATIC_ASSERTS() \
  CDEV_SIZES(CDEV_SA_SIZE_)       \
  CDEV_FIELDS(CDEV_SA_FIELD_)     \
  CDEV_IOCTLS(CDEV_SA_IOCTL_)     \
  CDEV_CONSTS(CDEV_SA_CONST_)     \
  _Static_assert(1, "cryptodev ABI")
#else
/* Another architecture: its layouts are not written down here; the ids and
 * flags still are. */
#define CDEV_SA_CONST_(n, v) _Static_assert((n) == (v), #n);
#define CDEV_ABI_STATIC_ASSERTS() CDEV_CONSTS(CDEV_SA_CONST_) _Static_assert(1, "cryptodev ABI")
#endif

#endif /* OCF_TESTS_CRYPTODEV_FACTS_H */
