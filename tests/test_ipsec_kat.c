/*
 * test_ipsec_kat.c - published ESP packets, opened by libocfipsec and
 * rebuilt by it byte for byte (with the vector's IV and sequence number):
 *   - RFC 7634 appendix A.1: ChaCha20-Poly1305 ESP, tunnel mode;
 *   - draft-mcgrew-gcm-test-01 (the IETF's AES-GCM ESP test vectors, as
 *     also carried by other implementations' suites): GCM with 128, 192 and
 *     256-bit keys, 32-bit and extended sequence numbers, and its NULL-GMAC
 *     case (RFC 4543);
 *   - RFC 3602 section 4, cases 5 to 8: AES-CBC ESP (no integrity), transport
 *     and tunnel mode, whole IPv4 packets.
 * The draft's plaintexts include the ESP trailer and its next header is 1
 * throughout, so its packets are checked in transport mode behind an IPv4
 * header of our own.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include <ocf/ocf.h>

#include "ipsec_test.h"

static int setup(void **state) {
  (void)state;
  struct ocf_init_opts o = {.workers = 2};
  return ocf_init(&o) != 0 ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  ocf_shutdown();
  return 0;
}

struct iv_src {
  uint8_t iv[16];
  size_t len;
};

static int vec_iv(void *arg, uint64_t seq, uint8_t *iv, size_t len) {
  (void)seq;
  struct iv_src *s = arg;
  if (len != s->len) return -1;
  memcpy(iv, s->iv, len);
  return 0;
}

/* A vector: the SA, the cleartext packet and the ESP packet (from the SPI
 * on).  For transport vectors the cleartext is an IPv4 header (hdr) plus the
 * payload; for tunnel vectors the whole inner packet. */
struct kat {
  const char *name;
  enum ipsec_enc enc;
  enum ipsec_mode mode;
  const char *key; /* with the salt */
  uint32_t spi;
  uint64_t seq;
  int esn;
  const char *iv;
  const char *clear; /* tunnel: inner packet; transport: payload after hdr */
  const char *esp;   /* SPI .. ICV */
  const char *hdr;   /* transport: the cleartext IPv4 header (NULL: ours) */
  const char *outer; /* tunnel: the outer IPv4 header of the ESP packet */
};

static const char *const our_hdr = "45000000 00000000 40010000 c0a80102 c0a80101";

static const struct kat kats[] = {
    {"RFC 7634 A.1", IPSEC_ENC_CHACHA20_POLY1305, IPSEC_MODE_TUNNEL,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3", 0x01020304, 5, 0,
     "1011121314151617",
     "45000054a6f200004001e778c6336405c000020508005b7a3a080000553bec10000736270809"
     "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
     "3031323334353637",
     "0102030400000005101112131415161724039428b97f417e3c13753a4f05087b67c352e6a7fa"
     "b1b982d466ef407ae5c614ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2fac"
     "c638e8f3cbec163fac469b502773f6fb94e664da9165b82829f641e076aaa8266b7fb0f7b11b"
     "369907e1ad43",
     NULL, "4500008c0000000040320000cb007105c0000205"},
    /* draft-mcgrew-gcm-test-01, cases 1 to 14: the key without the salt, which
     * is the nonce's first four bytes; the cleartext without the trailer */
    {"gcm-test 1 (ESN)", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "4c80cdefbb5d10da906ac73c3613a634 2e443b68", 0x4321, 0x8765432100000000ull, 1,
     "4956ed7e3b244cfe",
     "45000048699a000080114db7c0a80102c0a801010a9bf15638d301000001000000000000045f"
     "736970045f756470037369700963796265726369747902646b0000210001",
     "00004321000000004956ed7e3b244cfefecf537e729d5b07dc30df528dd22b768d1b98736696"
     "a6fd348509fa13ceac34cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb7"
     "86b93bce61bc17d768fd9732459018148f6cbe722fd04796562dfdb4",
     NULL, NULL},
    {"gcm-test 2", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "feffe9928665731c6d6a8f9467308308 cafebabe", 0xa5f8, 0x0000000aull, 0, "facedbaddecaf888",
     "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100000100000000"
     "0000037369700963796265726369747902646b0000010001",
     "0000a5f80000000afacedbaddecaf888deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae"
     "530f1ba76d5d114d2a5c3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba9"
     "5d918bd183b70d3aa8bc6ee4c309e9d85a41ad4a",
     NULL, NULL},
    {"gcm-test 3 (256)", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab 11223344", 0x4a2cbfe3,
     0x00000002ull, 0, "0102030405060708",
     "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee0000000007002400020bf"
     "0000020405b401010402",
     "4a2cbfe3000000020102030405060708ff425c9b724599df7a3bcd510194e00d6a78107f1b0b"
     "1cbf06efae9d65a5d763748a637985771d347f0545659f14e99def842d8eb335f4eecfdbf831"
     "824b4c4915956c96",
     NULL, NULL},
    {"gcm-test 4", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "00000000000000000000000000000000 00000000", 0x0, 0x00000001ull, 0, "0000000000000000",
     "4500003c99c500008001cb7a40679318010101010800075c020044006162636465666768696a"
     "6b6c6d6e6f7071727374757677616263646566676869",
     "000000000000000100000000000000004688daf2f973a392732909c331d56d60f694abaa414b"
     "5e7ff5fdcdfff5e9a284456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5"
     "c8c18af3f821d496eeb096e98ad2b69e4799c71d",
     NULL, NULL},
    {"gcm-test 5 (ESN)", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "3de09874b388e6491988d0c3607eae1f 57690e43", 0x42f67e3f, 0x1010101010101010ull, 1,
     "4e280000a2fca1a3",
     "4500003c99c300008001cb7c40679318010101010800085c020043006162636465666768696a"
     "6b6c6d6e6f7071727374757677616263646566676869",
     "42f67e3f101010104e280000a2fca1a3fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a"
     "04b00d1138ec9c35791765acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e2273"
     "9530320ae0d731cc978ecafaeae88f00e80d6e48",
     NULL, NULL},
    {"gcm-test 6 (ESN)", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "3de09874b388e6491988d0c3607eae1f 57690e43", 0x42f67e3f, 0x1010101010101010ull, 1,
     "4e280000a2fca1a3", "4500001c42a200008001441f406793b6e00000020a00f5ff",
     "42f67e3f101010104e280000a2fca1a3fba2ca845e5df9f0f22c3e6e86dd831e1fc65792cd1a"
     "f9130e1379ed369f071f35e034be95f112e4e7d05d35",
     NULL, NULL},
    {"gcm-test 7 (192)", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c cafebabe", 0xa5f8, 0x0000000aull, 0,
     "facedbaddecaf888",
     "45000028a4ad4000400678800a01038f0a010612802306b8cb712602dd6bb03e501016d07568",
     "0000a5f80000000afacedbaddecaf888a5b1f8066029aea40e598b8122de02420938b3ab33f8"
     "28e687b8858b5bfbdbd0315b27452144cc7795457b9652037f5318027b5b4cd7a636",
     NULL, NULL},
    {"gcm-test 8 (ESN)", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "abbccddef00112233445566778899aab decaf888", 0x100, 0x0000000000000001ull, 1,
     "cafedebaceface74",
     "4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d500004e20001e"
     "8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec959b6266c04722b14923",
     "0000010000000001cafedebaceface7418a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d954"
     "12e1c349c1d2fbec168f9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e"
     "0f496c226f2127b27db35724e7845d68651f57e65f354f75ff17015769623436",
     NULL, NULL},
    {"gcm-test 9 (256, ESN)", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab 73616c74", 0x17405e67,
     0x156f3126dd0db99bull, 1, "616e640169766563",
     "45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb71260250101f646d54",
     "17405e67dd0db99b616e640169766563f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef"
     "67549d524a3018d9a57ff4d3a31ce673119e451626c2415771e3b7eebca614c89b35",
     NULL, NULL},
    {"gcm-test 10 (ESN)", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "3de09874b388e6491988d0c3607eae1f 57690e43", 0x42f67e3f, 0x1010101010101010ull, 1,
     "4e280000a2fca1a3",
     "45000049333e00007f119182c3fb1d10c2b1d326c02831ce0035cb458003025b000001e0001e"
     "8c18d65759d52284a0352c71475c8880391c764d6e5ee0496b325ae270c03899493915",
     "42f67e3f101010104e280000a2fca1a3fba2cad12fc1f9f00d3cebf305410db83d7784b60732"
     "3d220f24b0a97d54182800cadb0f68d99ef0e0c0c89ae9bea8884e52d65bc1afd0740f742444"
     "747b5b39ab533163aad4550ee5160975cdb608c5769189609763b8e18caa81e2",
     NULL, NULL},
    {"gcm-test 11 (256, ESN)", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab 73616c74", 0x17405e67,
     0x156f3126dd0db99bull, 1, "616e640169766563",
     "636973636f0172756c657301746865016e6574776501646566696e6501746865746563686e6f"
     "6c6f67696573017468617477696c6c01646566696e65746f6d6f72726f77",
     "17405e67dd0db99b616e640169766563d4b7ed86a1777f2ea13d6973d324c69e7b43f826fb56"
     "831226508bebd2dceb18d0a6df10e5487df074113e14c641024e3e6773d91a62ee429b043a10"
     "e3efe6b012a49363412364f8c0cac587f249e56b11e24f30e44ccc76",
     NULL, NULL},
    {"gcm-test 12", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "7d773d00c144c525ac619d18c84a3f47 d9664267", 0x335467ae, 0xffffffffull, 0, "43457e9182443bc6",
     "", "335467aeffffffff43457e9182443bc6437f866bcb3f699fe9b0822bac961c4504bef270", NULL, NULL},
    {"gcm-test 13 (ESN)", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "abbccddef00112233445566778899aab decaf888", 0x100, 0x0000000000000001ull, 1,
     "cafedebaceface74", "746f016265016f72016e6f7401746f016265",
     "0000010000000001cafedebaceface7429c9fc69a197d038ccdd14e2ddfcaa05433321644125"
     "03524303ed3c6c5f283843af8c3e",
     NULL, NULL},
    {"gcm-test 14 (256, ESN)", IPSEC_ENC_AES_GCM_16, IPSEC_MODE_TRANSPORT,
     "6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961 7475726e", 0x796b6963,
     0xffffffffffffffffull, 1, "333021696765746d",
     "45000030da3a00008001df3bc0a80005c0a800010800c6cd020007006162636465666768696a"
     "6b6c6d6e6f7071727374",
     "796b6963ffffffff333021696765746df97ab2aa356d8edce17644ac8c78e25dd24dedbb29eb"
     "f1b64a274b39b49c3a864cd3d78ca4ae68a32b42458fb57dbe821dcc63b9d0937ba2945f6693"
     "68661a329fb4c053",
     NULL, NULL},
    /* the draft's NULL-GMAC case (RFC 4543): a tunnel packet in the clear */
    {"gcm-test 15 (NULL-GMAC)", IPSEC_ENC_NULL_AUTH_AES_GMAC, IPSEC_MODE_TUNNEL,
     "4c80cdefbb5d10da906ac73c3613a634 22433c64", 0x4321, 7, 0, "0000000000000000",
     "45000030da3a00008001df3bc0a80005c0a800010800c6cd020007006162636465666768696a"
     "6b6c6d6e6f7071727374",
     "0000432100000007000000000000000045000030da3a00008001df3bc0a80005c0a800010800"
     "c6cd020007006162636465666768696a6b6c6d6e6f707172737401020204594f4055428d399a"
     "9d66c15e77023a98",
     NULL, "450000680000000040320000c0a80102c0a80101"},
    /* RFC 3602 section 4: AES-CBC without integrity */
    {"RFC 3602 case 5", IPSEC_ENC_AES_CBC, IPSEC_MODE_TRANSPORT, "90d382b410eeba7ad938c46cec1a82bf",
     0x4321, 1, 0, "e96e8c08ab465763fd098d45dd3ff893",
     "08000ebda70a00008e9c083db95b070008090a0b0c0d0e0f101112131415161718191a1b1c1d"
     "1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
     "0000432100000001e96e8c08ab465763fd098d45dd3ff893f663c25d325c18c6a9453e194e12"
     "0849a4870b66cc6b9965330013b4898dc856a4699e523a55db080b59ec3a8e4b7e52775b07d1"
     "db34ed9c538ab50c551b874aa269add047ad2d5913ac19b7cfbad4a6",
     "4500005408f200004001f9fec0a87b03c0a87b64", NULL},
    {"RFC 3602 case 6", IPSEC_ENC_AES_CBC, IPSEC_MODE_TRANSPORT, "90d382b410eeba7ad938c46cec1a82bf",
     0x4321, 8, 0, "69d08df7d203329db093fc4924e5bd80",
     "0800b5e8a80a0500a69c083d0b660e00777777777777777777777777",
     "000043210000000869d08df7d203329db093fc4924e5bd80f51995881ec4e0c4488987ce742e"
     "8109689bb379d2d750c0d915dca346a89f75",
     "4500003008fe00004001fa16c0a87b03c0a87b64", NULL},
    {"RFC 3602 case 7", IPSEC_ENC_AES_CBC, IPSEC_MODE_TUNNEL, "0123456789abcdef0123456789abcdef",
     0x8765, 2, 0, "f4e765244f6407adf13dc1380f673f37",
     "45000054090400004001f988c0a87b03c0a87bc808009f76a90a0100b49c083d02a204000809"
     "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
     "3031323334353637",
     "0000876500000002f4e765244f6407adf13dc1380f673f37773b5241a4c449225e4f3ce5ed61"
     "1b0c237ca96cf74a93013c1b0ea1a0cf70f8e4ecaec78ac53aad7a0f022b859243c647752e94"
     "a859352b8a4d4d2decd136e5c177f132ad3fbfb2201ac9904c74ee0a109e0ca1e4dfe9d5a100"
     "b842f1c22f0d",
     NULL, "4500008c090500004032f91ec0a87b03c0a87bc8"},
    {"RFC 3602 case 8", IPSEC_ENC_AES_CBC, IPSEC_MODE_TUNNEL, "0123456789abcdef0123456789abcdef",
     0x8765, 5, 0, "85d47224b5f3dd5d2101d4ea8dffab22",
     "45000044090c00004001f990c0a87b03c0a87bc80800d63caa0a0200c69c083da3de0300ffff"
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "000087650000000585d47224b5f3dd5d2101d4ea8dffab2215b92683819596a8047232cc00f7"
     "048fe45318e11f8a0f62ede3c3fc61203bb50f980a08c9843fd3a1b06d5c07ff9639b7eb7dfb"
     "3512e5de435e7207ed971ef3d2726d9b5ef6affc6d17a0decbb13892",
     NULL, "4500007c090d00004032f926c0a87b03c0a87bc8"},
};

static void set_len_csum(uint8_t *ip, size_t tot, uint8_t proto) {
  ip[2] = (uint8_t)(tot >> 8);
  ip[3] = (uint8_t)tot;
  ip[9] = proto;
  ip[10] = ip[11] = 0;
  uint32_t s = 0;
  for (int i = 0; i < 20; i += 2) s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  ip[10] = (uint8_t)(~s >> 8);
  ip[11] = (uint8_t)~s;
}

static void one(const struct kat *k) {
  uint8_t key[64], clear[512], esp[512], hdr[20], outer[20], pkt[600];
  struct iv_src ivs;
  size_t keylen = it_hex(k->key, key, sizeof(key));
  size_t clen = it_hex(k->clear, clear, sizeof(clear));
  size_t elen = it_hex(k->esp, esp, sizeof(esp));
  ivs.len = it_hex(k->iv, ivs.iv, sizeof(ivs.iv));
  bool tun = k->mode == IPSEC_MODE_TUNNEL;
  it_hex(tun ? (k->outer ? k->outer : our_hdr) : (k->hdr ? k->hdr : our_hdr), tun ? outer : hdr,
         20);
  struct ipsec_addr src = {.family = AF_INET}, dst = {.family = AF_INET};
  memcpy(src.a, (tun ? outer : hdr) + 12, 4);
  memcpy(dst.a, (tun ? outer : hdr) + 16, 4);
  struct ipsec_sa_params p = {.proto = IPSEC_PROTO_ESP,
                              .mode = k->mode,
                              .spi = k->spi,
                              .enc = k->enc,
                              .enc_key = key,
                              .enc_key_len = keylen,
                              .flags = k->esn ? IPSEC_SA_ESN : 0,
                              .seq = k->seq,
                              .iv_fn = vec_iv,
                              .iv_arg = &ivs};
  if (tun) {
    p.src = src;
    p.dst = dst;
  }
  struct ipsec_ctx *octx = it_ctx(0), *ictx = it_ctx(0);
  struct ipsec_sa *osa, *isa;
  if (k->spi < 256) {
    /* SPI 0 is reserved (RFC 4303): the library refuses it, as it should */
    char err[160];
    p.dir = IPSEC_DIR_IN;
    assert_int_equal(ipsec_sa_add(ictx, &p, &isa, err, sizeof(err)), EINVAL);
    ipsec_ctx_free(octx);
    ipsec_ctx_free(ictx);
    return;
  }
  assert_int_equal(it_sa_pair(octx, ictx, &p, &osa, &isa, 0), 0);

  /* the cleartext packet */
  size_t plen;
  if (tun) {
    memcpy(pkt, clear, clen);
    plen = clen;
  } else {
    memcpy(pkt, hdr, 20);
    memcpy(pkt + 20, clear, clen);
    plen = 20 + clen;
    if (k->hdr == NULL) set_len_csum(pkt, plen, 1);
  }
  /* input: the published packet behind its (or our) IP header */
  uint8_t in[700];
  memcpy(in, tun ? outer : hdr, 20);
  memcpy(in + 20, esp, elen);
  set_len_csum(in, 20 + elen, IPPROTO_ESP);
  struct it_pkt *t = it_pkt_new(1024, 100, in, 20 + elen);
  int v = it_run(ictx, t, 0);
  if (v != IPSEC_OK) fail_msg("%s: input verdict %s", k->name, ipsec_verdict_name(v));
  if (t->p.len != plen || memcmp(it_data(t), pkt, plen) != 0)
    fail_msg("%s: decapsulated packet differs (%zu vs %zu bytes)", k->name, t->p.len, plen);
  /* output: the same bytes from the cleartext */
  it_pkt_reset(t, 100, pkt, plen);
  v = it_run(octx, t, 1);
  if (v != IPSEC_OK) fail_msg("%s: output verdict %s", k->name, ipsec_verdict_name(v));
  if (t->p.len != 20 + elen || memcmp(it_data(t) + 20, esp, elen) != 0)
    fail_msg("%s: ESP packet differs (%zu vs %zu bytes)", k->name, t->p.len, 20 + elen);
  if (!tun && k->hdr != NULL && memcmp(it_data(t), in, 20) != 0)
    fail_msg("%s: IP header differs", k->name);
  it_pkt_free(t);
  ipsec_ctx_free(octx);
  ipsec_ctx_free(ictx);
}

static void t_kats(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) one(&kats[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(t_kats)};
  return cmocka_run_group_tests(tests, setup, teardown);
}
