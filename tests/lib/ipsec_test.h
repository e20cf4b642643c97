/*
 * ipsec_test.h - helpers for the libocfipsec tests: cleartext packets built
 * byte by byte (IPv4 / IPv6, UDP / TCP / ICMP, with correct checksums), SA
 * pairs that share keys, and running packets through ipsec_output /
 * ipsec_input and waiting for their done() callbacks.
 */
#ifndef OCF_TEST_IPSEC_TEST_H
#define OCF_TEST_IPSEC_TEST_H

#include <ocf/ipsec.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ref.h"

/* it_pkt - a test packet: its buffer, and a completion the test can wait on. */
struct it_pkt {
  struct ipsec_pkt p;
  uint8_t *mem; /* the buffer (it_pkt_new allocates it) */
  size_t size;
  int done; /* [lock] done() ran (counts, to catch a second run) */
  pthread_mutex_t lock;
  pthread_cond_t cv;
};

/* it_pkt_new makes a packet with size bytes of buffer and the len bytes of
 * data copied at offset off; it_pkt_free frees it. */
struct it_pkt *it_pkt_new(size_t size, size_t off, const uint8_t *data, size_t len);
void it_pkt_free(struct it_pkt *t);
/* it_pkt_reset puts new data into an existing packet. */
void it_pkt_reset(struct it_pkt *t, size_t off, const uint8_t *data, size_t len);
/* it_run sends t through ipsec_output (out != 0) or ipsec_input, waits for
 * done() and returns the verdict (or -1 when the call was refused). */
int it_run(struct ipsec_ctx *ctx, struct it_pkt *t, int out);
/* it_data returns the packet's current bytes. */
static inline const uint8_t *it_data(const struct it_pkt *t) { return t->p.buf + t->p.off; }

/* it_build_ip writes a cleartext packet into buf (at most cap bytes) and
 * returns its length: IPv4 (v6 = 0) or IPv6, protocol proto (17 UDP, 6 TCP,
 * 1 / 58 ICMP, anything else raw), ports sport / dport, and plen bytes of
 * payload from rng.  Addresses: 10.0.0.1 -> 10.0.1.1 / 2001:db8::1 ->
 * 2001:db8:1::1 unless src / dst are given. */
size_t it_build_ip(uint8_t *buf, size_t cap, int v6, uint8_t proto, uint16_t sport, uint16_t dport,
                   size_t plen, struct ref_rng *rng, const struct ipsec_addr *src,
                   const struct ipsec_addr *dst);

/* it_addr parses an address or aborts. */
struct ipsec_addr it_addr(const char *s);

/* it_sa_pair adds an outbound and an inbound SA built from the same
 * parameters (p->dir is ignored), with a policy pair covering everything of
 * p's family (out: protect with the outbound SA; in: protect with the
 * inbound one) unless no_policy.  The inbound SA starts with p->seq - 1 as
 * the highest number seen, as after a handover.  Returns 0 or the errno; *out / *in get the
 * SAs. */
int it_sa_pair(struct ipsec_ctx *octx, struct ipsec_ctx *ictx, const struct ipsec_sa_params *p,
               struct ipsec_sa **out, struct ipsec_sa **in, int no_policy);

/* it_fill_keys fills p's key fields with rng bytes of the lengths the
 * transforms need (buffers are static per call site: pass your own). */
void it_keys(struct ipsec_sa_params *p, uint8_t *ekey, uint8_t *akey, struct ref_rng *rng);

/* it_enc_keylen / it_auth_keylen: key bytes (salt included) a transform takes. */
size_t it_enc_keylen(enum ipsec_enc e);
size_t it_auth_keylen(enum ipsec_auth a);

/* it_hex parses hex text (whitespace ignored) into out[cap]; returns bytes. */
size_t it_hex(const char *hex, uint8_t *out, size_t cap);

/* it_ctx makes a context with policies' default actions and flags. */
struct ipsec_ctx *it_ctx(unsigned flags);

#endif /* OCF_TEST_IPSEC_TEST_H */
