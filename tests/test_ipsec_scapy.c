/*
 * test_ipsec_scapy.c - interoperability with an independent implementation,
 * Debian's python3-scapy (scapy.layers.ipsec).  For every transform and
 * mode scapy supports (ESP and AH, tunnel and transport, IPv4 and IPv6 inside
 * and outside, ESP in UDP, ESN), libocfipsec protects packets and writes them
 * to a file; tests/ipsec_scapy.py (run with /usr/bin/python3, which sees the
 * Debian packages) opens each with scapy and compares the cleartext, protects
 * the cleartext itself with the same sequence number and IV and compares the
 * bytes, and protects it again with its own random IV for libocfipsec to
 * open here.  What scapy 2.5 lacks (NULL-GMAC, ESN in an HMAC) the script
 * computes with the cryptography package.
 * Exit status 77 (skipped) only when scapy is not installed.
 */
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ocf/ocf.h>

#include "ipsec_test.h"

#define MAXCASES 256
#define PER_CASE 3

struct tcase {
  enum ipsec_proto proto;
  enum ipsec_enc enc;
  enum ipsec_auth auth;
  int tunnel, v6in, v6out, udp, esn;
  int ext; /* the cleartext carries IPv4 options / IPv6 extension headers */
  struct ipsec_ctx *octx, *ictx;
  struct ipsec_sa *osa, *isa;
  uint8_t ek[64], ak[64];
  struct ipsec_sa_params p;
};

static struct tcase cases[MAXCASES];
static int ncases;
static struct ref_rng rng;
static int failures;

#define CHECK(c, ...)               \
  do {                              \
    if (!(c)) {                     \
      fprintf(stderr, __VA_ARGS__); \
      fprintf(stderr, "\n");        \
      failures++;                   \
    }                               \
  } while (0)

static void add(enum ipsec_proto proto, enum ipsec_enc enc, enum ipsec_auth auth, int tunnel,
                int v6in, int v6out, int udp, int esn) {
  if (ncases >= MAXCASES) abort();
  struct tcase *c = &cases[ncases++];
  *c = (struct tcase){.proto = proto,
                      .enc = enc,
                      .auth = auth,
                      .tunnel = tunnel,
                      .v6in = v6in,
                      .v6out = tunnel ? v6out : v6in,
                      .udp = udp,
                      .esn = esn};
}

/* Puts IPv4 options (a router alert, immutable for AH, and a timestamp,
 * mutable) or IPv6 extension headers (hop-by-hop with an option that may
 * change en route, then destination options) into the packet at p. */
static size_t add_ext(uint8_t *p, size_t len) {
  /* one timestamp only: scapy 2.5 reads the first of a timestamp list and
   * takes the rest for further options */
  static const uint8_t v4opt[12] = {148, 4, 0, 0, 68, 8, 5, 0, 1, 2, 3, 4};
  uint8_t v6ext[16] = {60, 0, 0x3e, 4, 0xa1, 0xa2, 0xa3, 0xa4, 0, 0, 1, 4, 0, 0, 0, 0};
  if (p[0] >> 4 == 4) {
    memmove(p + 32, p + 20, len - 20);
    memcpy(p + 20, v4opt, 12);
    len += 12;
    p[0] = 0x48;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[10] = p[11] = 0;
    uint32_t sum = 0;
    for (int i = 0; i < 32; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    p[10] = (uint8_t)(~sum >> 8);
    p[11] = (uint8_t)~sum;
    return len;
  }
  memmove(p + 56, p + 40, len - 40);
  v6ext[8] = p[6]; /* the upper layer follows the destination options */
  memcpy(p + 40, v6ext, 16);
  p[6] = 0;
  len += 16;
  p[4] = (uint8_t)((len - 40) >> 8);
  p[5] = (uint8_t)(len - 40);
  return len;
}

static void full(enum ipsec_proto proto, enum ipsec_enc enc, enum ipsec_auth auth) {
  for (int tunnel = 0; tunnel < 2; tunnel++)
    for (int v6in = 0; v6in < 2; v6in++)
      for (int v6out = 0; v6out < (tunnel ? 2 : 1); v6out++)
        for (int udp = 0; udp < (proto == IPSEC_PROTO_ESP ? 2 : 1); udp++)
          for (int esn = 0; esn < 2; esn++) add(proto, enc, auth, tunnel, v6in, v6out, udp, esn);
}

static void reduced(enum ipsec_proto proto, enum ipsec_enc enc, enum ipsec_auth auth) {
  add(proto, enc, auth, 1, 0, 0, 0, 0);
  add(proto, enc, auth, 0, 1, 1, proto == IPSEC_PROTO_ESP, 1);
  add(proto, enc, auth, 1, 1, 0, 0, 1);
}

static void hexout(FILE *f, const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) fprintf(f, "%02x", b[i]);
}

static size_t ivlen_of(enum ipsec_enc e) {
  switch (e) {
    case IPSEC_ENC_AES_CBC:
      return 16;
    case IPSEC_ENC_NULL:
    case IPSEC_ENC_NONE:
      return 0;
    default:
      return 8;
  }
}

static void setup_case(struct tcase *c) {
  struct ipsec_sa_params *p = &c->p;
  *p = (struct ipsec_sa_params){
      .proto = c->proto,
      .mode = c->tunnel ? IPSEC_MODE_TUNNEL : IPSEC_MODE_TRANSPORT,
      .spi = 0x10000 + (uint32_t)(c - cases),
      .enc = c->enc,
      .auth = c->auth,
      .flags = (c->udp ? IPSEC_SA_UDP_ENCAP : 0) | (c->esn ? IPSEC_SA_ESN : 0),
      .encap_sport = 4500,
      .encap_dport = 4500,
      .seq = c->esn ? 0xfffffffeull : 1};
  if (c->proto == IPSEC_PROTO_IPCOMP) {
    p->spi = 0x100 + (uint32_t)(c - cases);
    p->comp = IPSEC_COMP_DEFLATE;
    p->flags = 0;
    p->seq = 0;
  }
  it_keys(p, c->ek, c->ak, &rng);
  if (c->tunnel) {
    p->src = it_addr(c->v6out ? "2001:db8:ff::1" : "192.0.2.1");
    p->dst = it_addr(c->v6out ? "2001:db8:ff::2" : "192.0.2.2");
  }
  c->octx = it_ctx(0);
  c->ictx = it_ctx(0);
  if (it_sa_pair(c->octx, c->ictx, p, &c->osa, &c->isa, 0) != 0) abort();
}

static const char *pname(enum ipsec_proto p) {
  return p == IPSEC_PROTO_ESP ? "esp" : p == IPSEC_PROTO_AH ? "ah" : "ipcomp";
}

static int write_ours(const char *path) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return errno;
  static const size_t sizes[PER_CASE] = {0, 57, 700};
  /* $OCF_TEST_SCALE (the sanitizer builds): one packet per case */
  int k0 = ref_scale() > 1 ? 2 : 0;
  for (int i = 0; i < ncases; i++) {
    struct tcase *c = &cases[i];
    setup_case(c);
    for (int k = k0; k < PER_CASE; k++) {
      uint8_t clear[2048 + 16];
      uint8_t proto = k == 0 ? (c->v6in ? 58 : 1) : k == 1 ? IPPROTO_UDP : IPPROTO_TCP;
      size_t len =
          it_build_ip(clear, sizeof(clear), c->v6in, proto, 5000, 80, sizes[k], &rng, NULL, NULL);
      if (c->ext) len = add_ext(clear, len);
      if (c->proto == IPSEC_PROTO_IPCOMP) {
        /* something that compresses, in all but the smallest */
        size_t hl = (c->v6in ? 40 : 20) + (k == 0 ? 8 : k == 1 ? 8 : 20);
        ref_fill_text(&rng, clear + hl, len - hl);
      }
      struct it_pkt *t = it_pkt_new(len + 512, 200, clear, len);
      int v = it_run(c->octx, t, 1);
      CHECK(v == IPSEC_OK, "case %d: output verdict %s", i, ipsec_verdict_name(v));
      if (v != IPSEC_OK) {
        it_pkt_free(t);
        continue;
      }
      struct ipsec_sa_info si;
      ipsec_sa_info(c->osa, &si); /* the number this packet got */
      size_t esp = t->p.payload_off;
      size_t ivl = c->proto == IPSEC_PROTO_ESP ? ivlen_of(c->enc) : 0;
      fprintf(f, "id=%d proto=%s enc=%s auth=%s ekey=", i, pname(c->proto),
              c->proto == IPSEC_PROTO_ESP ? ipsec_enc_name(c->enc) : "none",
              ipsec_auth_name(c->auth));
      hexout(f, c->p.enc_key, c->p.enc_key_len);
      fprintf(f, " akey=");
      hexout(f, c->p.auth_key, c->p.auth_key_len);
      fprintf(f, " mode=%s fam=%d udp=%d sport=4500 dport=4500 esn=%d spi=%u seq=%llu iv=",
              c->tunnel ? "tunnel" : "transport", c->v6in ? 6 : 4, c->udp, c->esn, c->p.spi,
              (unsigned long long)si.seq);
      if (ivl)
        hexout(f, it_data(t) + esp + 8, ivl);
      else
        fprintf(f, "-");
      fprintf(f, " clear=");
      hexout(f, clear, len);
      fprintf(f, " prot=");
      hexout(f, it_data(t), t->p.len);
      fprintf(f, "\n");
      it_pkt_free(t);
    }
  }
  return fclose(f) == 0 ? 0 : errno;
}

static int read_theirs(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return errno;
  static char line[16384];
  int n = 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    int id;
    char *sp1 = strchr(line, ' ');
    if (sp1 == NULL || sscanf(line, "%d", &id) != 1 || id < 0 || id >= ncases) {
      CHECK(0, "bad line in theirs.txt");
      continue;
    }
    char *sp2 = strchr(sp1 + 1, ' ');
    if (sp2 == NULL) continue;
    *sp2 = 0;
    uint8_t prot[4096], clear[4096];
    size_t plen = it_hex(sp1 + 1, prot, sizeof(prot));
    size_t clen = it_hex(sp2 + 1, clear, sizeof(clear));
    struct tcase *c = &cases[id];
    struct it_pkt *t = it_pkt_new(plen + 4096, 64, prot, plen); /* IPcomp grows */
    int v = it_run(c->ictx, t, 0);
    CHECK(v == IPSEC_OK, "case %d (%s %s %s %s v%d udp %d esn %d): scapy's packet: verdict %s", id,
          pname(c->proto), ipsec_enc_name(c->enc), ipsec_auth_name(c->auth),
          c->tunnel ? "tunnel" : "transport", c->v6in ? 6 : 4, c->udp, c->esn,
          ipsec_verdict_name(v));
    if (v == IPSEC_OK)
      CHECK(t->p.len == clen && memcmp(it_data(t), clear, clen) == 0,
            "case %d: scapy's packet opened to other bytes", id);
    it_pkt_free(t);
    n++;
  }
  fclose(f);
  printf("libocfipsec opened %d packets protected by scapy\n", n);
  CHECK(n >= ncases * (ref_scale() > 1 ? 1 : 2), "only %d packets from scapy for %d cases", n,
        ncases);
  return 0;
}

int main(void) {
  /* scapy there at all?  (the Debian python, not a pyenv one on PATH) */
  if (system("/usr/bin/python3 -c 'import scapy.layers.ipsec' >/dev/null 2>&1") != 0) {
    printf("python3-scapy is not installed (make deps installs it): skipped\n");
    return 77;
  }
  struct ocf_init_opts o = {.workers = 2};
  if (ocf_init(&o) != 0) return 1;
  ref_rng_seed(&rng, ref_seed());
  /* the full matrix for the main transforms, a cross-section for the rest */
  full(IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_16, IPSEC_AUTH_NONE);
  full(IPSEC_PROTO_ESP, IPSEC_ENC_CHACHA20_POLY1305, IPSEC_AUTH_NONE);
  full(IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA2_256_128);
  full(IPSEC_PROTO_AH, IPSEC_ENC_NONE, IPSEC_AUTH_HMAC_SHA2_256_128);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_12, IPSEC_AUTH_NONE);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_8, IPSEC_AUTH_NONE);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_AES_CCM_16, IPSEC_AUTH_NONE);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_AES_CCM_8, IPSEC_AUTH_NONE);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_NULL_AUTH_AES_GMAC, IPSEC_AUTH_NONE);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA1_96);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA2_384_192);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA2_512_256);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_MD5_96);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_AES_CTR, IPSEC_AUTH_HMAC_SHA2_256_128);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_3DES_CBC, IPSEC_AUTH_HMAC_SHA1_96);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_NULL, IPSEC_AUTH_HMAC_SHA2_256_128);
  reduced(IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_NONE);
  reduced(IPSEC_PROTO_AH, IPSEC_ENC_NONE, IPSEC_AUTH_HMAC_SHA1_96);
  reduced(IPSEC_PROTO_AH, IPSEC_ENC_NONE, IPSEC_AUTH_HMAC_SHA2_512_256);
  reduced(IPSEC_PROTO_AH, IPSEC_ENC_NONE, IPSEC_AUTH_HMAC_MD5_96);
  for (int tunnel = 0; tunnel < 2; tunnel++)
    for (int v6 = 0; v6 < 2; v6++) add(IPSEC_PROTO_IPCOMP, 0, 0, tunnel, v6, v6, 0, 0);
  /* options and extension headers, in transport mode (where they matter) */
  for (int v6 = 0; v6 < 2; v6++) {
    add(IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_16, IPSEC_AUTH_NONE, 0, v6, v6, 0, 0);
    cases[ncases - 1].ext = 1;
    add(IPSEC_PROTO_ESP, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA2_256_128, 0, v6, v6, !v6, 0);
    cases[ncases - 1].ext = 1;
    add(IPSEC_PROTO_AH, IPSEC_ENC_NONE, IPSEC_AUTH_HMAC_SHA2_256_128, 0, v6, v6, 0, 0);
    cases[ncases - 1].ext = 1;
    add(IPSEC_PROTO_AH, IPSEC_ENC_NONE, IPSEC_AUTH_HMAC_SHA1_96, 0, v6, v6, 0, 1);
    cases[ncases - 1].ext = 1;
    add(IPSEC_PROTO_ESP, IPSEC_ENC_AES_GCM_16, IPSEC_AUTH_NONE, 1, v6, v6, 0, 0);
    cases[ncases - 1].ext = 1;
  }

  char dir[] = "/tmp/ocf-ipsec-scapy.XXXXXX";
  if (mkdtemp(dir) == NULL) return 1;
  char ours[256], theirs[256], cmd[1024], src[1024];
  snprintf(ours, sizeof(ours), "%s/ours.txt", dir);
  snprintf(theirs, sizeof(theirs), "%s/theirs.txt", dir);
  snprintf(src, sizeof(src), "%s", __FILE__);
  int rc = write_ours(ours);
  if (rc != 0) {
    fprintf(stderr, "cannot write %s: %s\n", ours, strerror(rc));
    return 1;
  }
  snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/ipsec_scapy.py %s", dirname(src), dir);
  int st = system(cmd);
  int prc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
  if (prc == 77) {
    printf("scapy not usable: skipped\n");
    return 77;
  }
  CHECK(prc == 0, "the scapy side reported mismatches (exit %d)", prc);
  read_theirs(theirs);
  for (int i = 0; i < ncases; i++) {
    ipsec_ctx_free(cases[i].octx);
    ipsec_ctx_free(cases[i].ictx);
  }
  ocf_shutdown();
  if (failures == 0) {
    unlink(ours);
    unlink(theirs);
    rmdir(dir);
  } else {
    fprintf(stderr, "files kept in %s\n", dir);
  }
  printf("%d cases of %d packets: %s\n", ncases, PER_CASE, failures ? "FAILED" : "passed");
  return failures ? 1 : 0;
}
