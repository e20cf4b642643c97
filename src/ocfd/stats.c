/* stats.c - introspection: the producers, their algorithms and limits, and
 * the daemon's own figures (OCFW_DRIVERS, OCFW_STATS, OCFW_ASYMFEAT). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocfd/server.h"

/* asymfeat: the CRF_* bits of the operations some live producer serves. */
uint32_t asymfeat(void) {
  uint32_t feat = 0;
  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  for (int i = 0; i < n && i < 64; i++) {
    enum ocf_kop ops[OCF_KOP__MAX];
    int cnt = 0;
    if (st[i].detached || ocf_driver_kops(st[i].hid, ops, NULL, OCF_KOP__MAX, &cnt) != 0) continue;
    for (int k = 0; k < cnt && k < OCF_KOP__MAX; k++)
      if (ops[k] < 32) feat |= 1u << ops[k];
  }
  return feat;
}

void do_drivers(struct client *c, const struct ocfw_hdr *h) {
  struct ocf_driver_stat st[64];
  int n = ocf_driver_stats(st, 64);
  if (n > 64) n = 64;
  uint8_t buf[4 + 64 * sizeof(struct ocfw_driver)];
  uint32_t cnt = 0;
  for (int i = 0; i < n; i++) {
    if (st[i].detached) continue;
    struct ocfw_driver d = {st[i].hid, st[i].flags, {0}};
    snprintf(d.name, sizeof(d.name), "%s", st[i].name);
    memcpy(buf + 4 + cnt * sizeof(d), &d, sizeof(d));
    cnt++;
  }
  memcpy(buf, &cnt, 4);
  reply(c, h->cmd, 0, h->tag, 0, buf, 4 + cnt * sizeof(struct ocfw_driver));
}

/* put_lims appends n limits to the reply being built. */
static uint8_t *put_lims(uint8_t *p, const uint32_t *ids, const size_t *max, int n) {
  for (int i = 0; i < n; i++, p += sizeof(struct ocfw_lim)) {
    struct ocfw_lim l = {ids[i], 0, max ? (uint64_t)max[i] : 0};
    memcpy(p, &l, sizeof(l));
  }
  return p;
}

/* do_stats: the daemon's figures and, per producer, what ocf_driver_stats,
 * ocf_driver_algs, ocf_driver_failed_algs and ocf_driver_kops say. */
void do_stats(struct client *c, const struct ocfw_hdr *h) {
  enum { MAXD = 64 };
  static struct ocf_driver_stat st[MAXD];
  int n = ocf_driver_stats(st, MAXD);
  if (n > MAXD) n = MAXD;
  size_t rec = sizeof(struct ocfw_dstat) +
               (2 * (size_t)OCF_ALG__MAX + OCF_KOP__MAX) * sizeof(struct ocfw_lim);
  size_t cap = sizeof(struct ocfw_stats) + (size_t)n * rec;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) {
    reply(c, h->cmd, 0, h->tag, ENOMEM, NULL, 0);
    return;
  }
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  struct ocfw_stats hd = {.ndrv = (uint32_t)n,
                          .clients = (uint32_t)nclients,
                          .accepted = st_accepted,
                          .sessions = st_sessions,
                          .inflight = st_inflight,
                          .served = st_served,
                          .failed = st_failed,
                          .shm_bytes = st_shm_bytes,
                          .uptime_ms = (uint64_t)(now.tv_sec - st_start.tv_sec) * 1000u +
                                       (uint64_t)((now.tv_nsec - st_start.tv_nsec) / 1000000)};
  snprintf(hd.policy, sizeof(hd.policy), "%s", ocf_policy_name());
  memcpy(buf, &hd, sizeof(hd));
  uint8_t *p = buf + sizeof(hd);
  for (int i = 0; i < n; i++) {
    enum ocf_alg algs[OCF_ALG__MAX], failed[OCF_ALG__MAX];
    size_t maxlen[OCF_ALG__MAX], kbits[OCF_KOP__MAX];
    enum ocf_kop kops[OCF_KOP__MAX];
    int na = 0, nf = 0, nk = 0;
    /* A producer that vanished between the calls simply shows no lists. */
    if (ocf_driver_algs(st[i].hid, algs, maxlen, OCF_ALG__MAX, &na) != 0) na = 0;
    if (ocf_driver_failed_algs(st[i].hid, failed, OCF_ALG__MAX, &nf) != 0) nf = 0;
    if (ocf_driver_kops(st[i].hid, kops, kbits, OCF_KOP__MAX, &nk) != 0) nk = 0;
    if (na > OCF_ALG__MAX) na = OCF_ALG__MAX;
    if (nf > OCF_ALG__MAX) nf = OCF_ALG__MAX;
    if (nk > OCF_KOP__MAX) nk = OCF_KOP__MAX;
    struct ocfw_dstat ds = {.hid = st[i].hid,
                            .flags = st[i].flags,
                            .sessions = st[i].sessions,
                            .requests = st[i].requests,
                            .krequests = st[i].krequests,
                            .bytes = st[i].bytes,
                            .errors = st[i].errors,
                            .migrations = st[i].migrations,
                            .queued = st[i].queued,
                            .p50_us = st[i].p50_us,
                            .p99_us = st[i].p99_us,
                            .detached = (uint32_t)st[i].detached,
                            .nalg = (uint16_t)na,
                            .nfailed = (uint16_t)nf,
                            .nkop = (uint16_t)nk};
    snprintf(ds.name, sizeof(ds.name), "%s", st[i].name);
    memcpy(p, &ds, sizeof(ds));
    p += sizeof(ds);
    uint32_t ids[OCF_ALG__MAX];
    for (int k = 0; k < na; k++) ids[k] = (uint32_t)algs[k];
    p = put_lims(p, ids, maxlen, na);
    for (int k = 0; k < nf; k++) ids[k] = (uint32_t)failed[k];
    p = put_lims(p, ids, NULL, nf);
    for (int k = 0; k < nk; k++) ids[k] = (uint32_t)kops[k];
    p = put_lims(p, ids, kbits, nk);
  }
  reply(c, h->cmd, 0, h->tag, 0, buf, (size_t)(p - buf));
  free(buf);
}
