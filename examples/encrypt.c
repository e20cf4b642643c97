/* encrypt.c - the smallest useful libocf consumer: AES-128-CBC with
 * HMAC-SHA1-96 in one request (encrypt-then-MAC, as IPsec ESP does), then the
 * reverse with the MAC verified by the framework.
 *
 *   cc encrypt.c $(pkg-config --cflags --libs ocf) -o encrypt && ./encrypt
 */
#include <ocf/ocf.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  static const uint8_t ckey[16] = "0123456789abcdef", mkey[20] = "an hmac key of 20 b";
  uint8_t packet[16 + 64 + 12]; /* IV | payload | ICV */
  memset(packet, 0, sizeof(packet));
  static const char msg[64] = "attack at dawn, and bring the big encryption keys with you";
  memcpy(packet + 16, msg, sizeof(msg));

  int rc = ocf_init(NULL);
  if (rc != 0) return fprintf(stderr, "ocf_init: %s\n", ocf_strerror(rc)), 1;

  struct ocf_sessparam mac = {.alg = OCF_ALG_HMAC_SHA1, .key = mkey, .keylen = 20, .maclen = 12};
  struct ocf_sessparam cipher = {.alg = OCF_ALG_AES_CBC, .key = ckey, .keylen = 16, .next = &mac};
  ocf_sid_t sid;
  if ((rc = ocf_newsession(&sid, &cipher, 0)) != 0)
    return fprintf(stderr, "ocf_newsession: %s (%s)\n", ocf_strerror(rc), ocf_errdetail()), 1;

  /* Encrypt: a fresh IV is generated into packet[0..16), then the MAC covers
   * IV and ciphertext and lands in the last 12 bytes. */
  struct ocf_req req = {.sid = sid, .buf = ocf_buf_contig(packet, sizeof(packet)), .ndesc = 2};
  req.desc[0] = (struct ocf_desc){.alg = OCF_ALG_AES_CBC, .flags = OCF_D_ENCRYPT, .skip = 16,
                                  .len = 64, .iv_off = 0};
  req.desc[1] = (struct ocf_desc){.alg = OCF_ALG_HMAC_SHA1, .skip = 0, .len = 80, .inject = 80};
  if ((rc = ocf_run(&req)) != 0) return fprintf(stderr, "encrypt: %s\n", ocf_strerror(rc)), 1;

  /* Decrypt: verify the MAC first, then decrypt with the IV in the packet. */
  req.desc[0] = (struct ocf_desc){.alg = OCF_ALG_HMAC_SHA1, .flags = OCF_D_VERIFY, .skip = 0,
                                  .len = 80, .inject = 80};
  req.desc[1] = (struct ocf_desc){.alg = OCF_ALG_AES_CBC, .flags = OCF_D_IV_PRESENT, .skip = 16,
                                  .len = 64, .iv_off = 0};
  if ((rc = ocf_run(&req)) != 0) return fprintf(stderr, "decrypt: %s\n", ocf_strerror(rc)), 1;

  char name[32];
  ocf_session_driver(req.sid, name, sizeof(name));
  printf("round trip through producer '%s': %.14s\n", name, (char *)packet + 16);
  ocf_freesession(req.sid);
  ocf_shutdown();
  return 0;
}
