/* fuzz_ipsec.c - libFuzzer target for ipsec_input: whatever arrives from the
 * network, libocfipsec must answer with one verdict, exactly once, without
 * reading or writing outside the packet's buffer (ASan) or undefined
 * behaviour (UBSan), and what it accepts must be a well-formed IP packet
 * inside the buffer.
 *
 * The context holds inbound SAs of every kind (ESP AEAD tunnel, ESP CBC+HMAC
 * transport with ESN, ESP-NULL in UDP, AH, IPcomp, ChaCha20-Poly1305 IPv6
 * tunnel) and a few policies, so that packets reach every parser.  The first
 * input byte chooses between a whole IP packet and a UDP payload (as a
 * socket on the encapsulation port returns it) and how much room the buffer
 * has; the rest is the packet.  Requests run inline in the software
 * producer, so each input completes before the next.
 * With $OCF_FUZZ_SEEDS set to a directory, the target writes valid packets
 * for every SA there (the seed corpus) and exits. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ocf/ipsec.h>
#include <ocf/ocf.h>

static struct ipsec_ctx *ictx;
static int done_count;

struct sa_def {
  enum ipsec_proto proto;
  enum ipsec_mode mode;
  uint32_t spi;
  enum ipsec_enc enc;
  size_t eklen;
  enum ipsec_auth auth;
  size_t aklen;
  unsigned flags;
  int v6;
};

static const struct sa_def defs[] = {
    {IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 0x1001, IPSEC_ENC_AES_GCM_16, 20, 0, 0, 0, 0},
    {IPSEC_PROTO_ESP, IPSEC_MODE_TRANSPORT, 0x1002, IPSEC_ENC_AES_CBC, 16, IPSEC_AUTH_HMAC_SHA1_96,
     20, IPSEC_SA_ESN, 0},
    {IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 0x1003, IPSEC_ENC_NULL, 0, IPSEC_AUTH_HMAC_SHA2_256_128,
     32, IPSEC_SA_UDP_ENCAP, 0},
    {IPSEC_PROTO_AH, IPSEC_MODE_TRANSPORT, 0x1004, 0, 0, IPSEC_AUTH_HMAC_SHA2_256_128, 32, 0, 0},
    {IPSEC_PROTO_IPCOMP, IPSEC_MODE_TRANSPORT, 0x105, 0, 0, 0, 0, 0, 0},
    {IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, 0x1006, IPSEC_ENC_CHACHA20_POLY1305, 36, 0, 0, 0, 1},
    {IPSEC_PROTO_IPCOMP, IPSEC_MODE_TUNNEL, 0x107, 0, 0, 0, 0, 0, 0},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static void params(const struct sa_def *d, enum ipsec_dir dir, struct ipsec_sa_params *p,
                   uint8_t *ek, uint8_t *ak) {
  memset(p, 0, sizeof(*p));
  p->proto = d->proto;
  p->dir = dir;
  p->mode = d->mode;
  p->spi = d->spi;
  p->enc = d->enc;
  p->auth = d->auth;
  p->flags = d->flags;
  for (size_t i = 0; i < 64; i++) {
    ek[i] = (uint8_t)(d->spi + i);
    ak[i] = (uint8_t)(d->spi * 3 + i);
  }
  p->enc_key = d->eklen ? ek : NULL;
  p->enc_key_len = d->eklen;
  p->auth_key = d->aklen ? ak : NULL;
  p->auth_key_len = d->aklen;
  if (d->proto == IPSEC_PROTO_IPCOMP) p->comp = IPSEC_COMP_DEFLATE;
  if (d->mode == IPSEC_MODE_TUNNEL) {
    ipsec_addr_parse(d->v6 ? "2001:db8::1" : "192.0.2.1", &p->src);
    ipsec_addr_parse(d->v6 ? "2001:db8::2" : "192.0.2.2", &p->dst);
  }
}

static void seed_done(struct ipsec_pkt *p) { (void)p; }

/* Writes a protected packet of every SA into dir. */
static void make_seeds(const char *dir) {
  struct ipsec_ctx *o;
  if (ipsec_ctx_new(NULL, &o) != 0) exit(1);
  for (size_t i = 0; i < NDEFS; i++) {
    uint8_t ek[64], ak[64];
    struct ipsec_sa_params p;
    params(&defs[i], IPSEC_DIR_OUT, &p, ek, ak);
    struct ipsec_sa *sa;
    if (ipsec_sa_add(o, &p, &sa, NULL, 0) != 0) exit(1);
    struct ipsec_policy_params pp = {.dir = IPSEC_DIR_OUT, .action = IPSEC_ACT_PROTECT, .nsa = 1};
    pp.sa[0] = sa;
    /* one policy at a time: the newest first */
    if (ipsec_policy_add(o, &pp, 0, NULL, NULL, 0) != 0) exit(1);
    static uint8_t buf[4096];
    memset(buf, 0, sizeof(buf));
    uint8_t *ip = buf + 256;
    size_t plen = 200;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((28 + plen) >> 8);
    ip[3] = (uint8_t)(28 + plen);
    ip[8] = 64;
    ip[9] = IPPROTO_UDP;
    ip[12] = 10;
    ip[15] = 1;
    ip[16] = 10;
    ip[19] = 2;
    ip[20] = 0x12;
    ip[23] = 0x34;
    ip[25] = (uint8_t)(8 + plen);
    for (size_t k = 0; k < plen; k++) ip[28 + k] = (uint8_t) "ipsec fuzz seed "[k % 16];
    struct ipsec_pkt pk;
    ipsec_pkt_init(&pk, buf, sizeof(buf), 256, 28 + plen, seed_done, NULL);
    if (ipsec_output(o, &pk) != 0) exit(1);
    ipsec_ctx_drain(o);
    if (pk.verdict != IPSEC_OK) continue;
    char path[512];
    snprintf(path, sizeof(path), "%s/sa%zu", dir, i);
    FILE *f = fopen(path, "wb");
    if (f == NULL) exit(1);
    fputc(0, f);
    fwrite(buf + pk.off, 1, pk.len, f);
    fclose(f);
    if (defs[i].flags & IPSEC_SA_UDP_ENCAP) { /* also as a socket returns it */
      snprintf(path, sizeof(path), "%s/sa%zu-udp", dir, i);
      f = fopen(path, "wb");
      if (f == NULL) exit(1);
      fputc(1, f);
      fwrite(buf + pk.off + 28, 1, pk.len - 28, f);
      fclose(f);
    }
  }
  ipsec_ctx_free(o);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  struct ocf_init_opts io = {.workers = 1};
  if (ocf_init(&io) != 0) abort();
  const char *seeds = getenv("OCF_FUZZ_SEEDS");
  if (seeds != NULL) {
    make_seeds(seeds);
    exit(0);
  }
  if (ipsec_ctx_new(NULL, &ictx) != 0) abort();
  for (size_t i = 0; i < NDEFS; i++) {
    uint8_t ek[64], ak[64];
    struct ipsec_sa_params p;
    params(&defs[i], IPSEC_DIR_IN, &p, ek, ak);
    p.replay_window = i == 0 ? 4096 : 0;
    if (i == 2) p.flags |= IPSEC_SA_NO_REPLAY; /* replays reach the decapsulation */
    struct ipsec_sa *sa;
    if (ipsec_sa_add(ictx, &p, &sa, NULL, 0) != 0) abort();
    if (i == 0) {
      struct ipsec_policy_params pp = {.dir = IPSEC_DIR_IN, .action = IPSEC_ACT_PROTECT, .nsa = 1};
      pp.sa[0] = sa;
      ipsec_addr_parse("10.0.0.0", &pp.sel.src);
      pp.sel.src_plen = 8;
      if (ipsec_policy_add(ictx, &pp, -1, NULL, NULL, 0) != 0) abort();
    }
  }
  struct ipsec_policy_params bp = {.dir = IPSEC_DIR_IN, .action = IPSEC_ACT_BYPASS};
  bp.sel.proto = IPPROTO_UDP;
  bp.sel.dport_lo = 53;
  bp.sel.dport_hi = 53;
  if (ipsec_policy_add(ictx, &bp, -1, NULL, NULL, 0) != 0) abort();
  return 0;
}

static void check_done(struct ipsec_pkt *p) {
  done_count++;
  if ((unsigned)p->verdict >= IPSEC_VERDICT__MAX) abort();
  if (p->off > p->size || p->len > p->size - p->off) abort();
  if (p->verdict == IPSEC_OK || p->verdict == IPSEC_BYPASS) {
    /* a packet handed on is an IP packet of the length it says */
    const uint8_t *b = p->buf + p->off;
    if (p->len < 20) abort();
    if ((b[0] >> 4) == 4) {
      if ((size_t)(b[2] << 8 | b[3]) != p->len) abort();
    } else if ((b[0] >> 4) == 6) {
      if ((size_t)(b[4] << 8 | b[5]) + 40 != p->len) abort();
    } else {
      abort();
    }
    volatile uint8_t last = b[p->len - 1];
    (void)last;
  }
  if (p->nsa < 0 || p->nsa > IPSEC_MAX_CHAIN) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 70000) return 0;
  uint8_t mode = data[0];
  size_t n = size - 1;
  /* room: none, a little, or plenty (IPcomp needs some to grow) */
  size_t head = (mode & 2) ? 64 : 0, tail = (mode & 4) ? 70000 : (mode & 8) ? 100 : 0;
  /* an exact allocation: ASan sees any step outside */
  uint8_t *buf = malloc(head + n + tail + 1);
  if (buf == NULL) return 0;
  memcpy(buf + head, data + 1, n);
  struct ipsec_pkt *pk = malloc(sizeof(*pk));
  if (pk == NULL) {
    free(buf);
    return 0;
  }
  ipsec_pkt_init(pk, buf, head + n + tail, head, n, check_done, NULL);
  if (mode & 1) {
    pk->flags = IPSEC_PKT_UDP_PAYLOAD;
    ipsec_addr_parse("192.0.2.1", &pk->outer.src);
    ipsec_addr_parse("192.0.2.2", &pk->outer.dst);
    pk->outer.sport = 4500;
    pk->outer.dport = 4500;
  }
  done_count = 0;
  if (ipsec_input(ictx, pk) != 0) abort(); /* the arguments are right */
  ipsec_ctx_drain(ictx);
  if (done_count != 1) abort();
  free(pk);
  free(buf);
  return 0;
}
