/* profiles.c - the card kinds the sim producer models: the table of their
 * figures (what the paper measured, and the assumptions around it) and the
 * listing `ocf_sim_profiles` prints.  Separate because it is data, read by
 * every other part and changed on its own when a figure is revised. */
#include "drivers/sim/sim_int.h"

#include <stdio.h>
#include <string.h>

/* --- profiles -------------------------------------------------------------
 * Figures marked (paper) come from the paper's section 5; everything else is
 * an assumption, explained in docs/sim-profiles.md. */

const struct profile sim_profiles[] = {
    {.name = "hifn7751",
     .bus = "pci32",
     .if_gbps = PCI32_GBPS, /* (paper) a 32-bit/33 MHz device */
     .dma = true,
     .ring = 24,
     .setup_us = 15,
     .fetch_us = 10,
     .irq_us = 10,
     .coalesce = 1, /* (paper) one interrupt per operation */
     .sess_cache = 128,
     .reload_us = 2,
     .chain = true,
     .maxlen = 65535,
     .desc_bytes = 64,
     .rates = {{OCF_ALG_3DES_CBC, 83}, /* (paper) 3DES engine alone */
               {OCF_ALG_DES_CBC, 160},
               {OCF_ALG_HMAC_SHA1, 200},
               {OCF_ALG_SHA1, 200},
               {OCF_ALG_HMAC_MD5, 240},
               {OCF_ALG_MD5, 240}}},
    {.name = "hifn7811",
     .bus = "pci32",
     .if_gbps = PCI32_GBPS, /* (paper) the XL-Crypt board is 32-bit */
     .dma = true,
     .ring = 24,
     .setup_us = 12,
     .fetch_us = 10,
     .irq_us = 10,
     .coalesce = 1,
     .sess_cache = 128,
     .reload_us = 2,
     .chain = true,
     .rng_mbps = 8, /* (paper) has an RNG */
     .maxlen = 65535,
     .desc_bytes = 64,
     .rates = {{OCF_ALG_3DES_CBC, 130},
               {OCF_ALG_DES_CBC, 150},
               {OCF_ALG_HMAC_SHA1, 260},
               {OCF_ALG_SHA1, 260},
               {OCF_ALG_HMAC_MD5, 300},
               {OCF_ALG_MD5, 300}}},
    {.name = "bcm5805",
     .bus = "pci32",
     .if_gbps = PCI32_GBPS, /* (paper) 32-bit board */
     .dma = true,
     .ring = 60,
     .setup_us = 12,
     .fetch_us = 2,
     .irq_us = 8,
     .coalesce = 5, /* (paper) coalescing by chaining commands */
     .coalesce_us = 10,
     .sess_cache = 0,
     .chain = true,
     .rng_mbps = 8,
     .maxlen = 65535,
     .desc_bytes = 128,
     .rates = {{OCF_ALG_3DES_CBC, 155},
               {OCF_ALG_DES_CBC, 155}, /* (paper) DES runs on the 3DES engine */
               {OCF_ALG_HMAC_SHA1, 300},
               {OCF_ALG_HMAC_MD5, 300}},
     .rsa1024_crt = 400,
     .modexp_ratio = 1.0 / 3,
     .kmax_bits = 1024},
    {.name = "bcm5820",
     .bus = "pci64",
     .if_gbps = PCI64_GBPS, /* (paper) 64-bit board */
     .dma = true,
     .ring = 60,
     .setup_us = 10,
     .fetch_us = 2,
     .irq_us = 8,
     .coalesce = 5,
     .coalesce_us = 10,
     .sess_cache = 0,
     .chain = true,
     .rng_mbps = 8,
     .maxlen = 65535,
     .desc_bytes = 128,
     .rates = {{OCF_ALG_3DES_CBC, 310}, /* (paper) 310 Mbit/s 3DES-SHA1 */
               {OCF_ALG_DES_CBC, 310},  /* (paper) DES = 3DES on Broadcom */
               {OCF_ALG_HMAC_SHA1, 600},
               {OCF_ALG_HMAC_MD5, 600}},
     .rsa1024_crt = 800, /* (paper) 800 RSA-1024 signatures/s */
     .modexp_ratio = 1.0 / 3,
     .kmax_bits = 2048},
    {.name = "hifn6500",
     .bus = "pci32",
     .if_gbps = 0.128, /* (paper) not a bus master: programmed I/O */
     .dma = false,
     .ring = 0,
     .setup_us = 5,
     .fetch_us = 1,
     .irq_us = 10,
     .coalesce = 1,
     .rng_mbps = 4, /* (paper) PK unit + RNG */
     .desc_bytes = 32,
     .rsa1024_crt = 40,
     .modexp_ratio = 1.0 / 3,
     .kmax_bits = 1024}, /* (paper) 1024-bit registers */
    {.name = "hifn7814",
     .bus = "pci64",
     .if_gbps = PCI64_GBPS, /* (paper) 64-bit board */
     .dma = true,
     .ring = 0,
     .setup_us = 5,
     .fetch_us = 10,
     .irq_us = 10,
     .coalesce = 1,
     .desc_bytes = 64,
     .rsa1024_crt = 40, /* (paper) PK unit "almost exactly" the 6500's */
     .modexp_ratio = 1.0 / 3,
     .kmax_bits = 1024},
};
_Static_assert(sizeof(sim_profiles) / sizeof(sim_profiles[0]) == NPROFILES,
               "NPROFILES counts the table");

double sim_prof_rate(const struct profile *p, enum ocf_alg alg) {
  for (int i = 0; i < MAX_RATES && p->rates[i].alg != OCF_ALG_NONE; i++)
    if (p->rates[i].alg == alg) return p->rates[i].mbps;
  return 0;
}

/* RSA-style CRT operations per second at a modulus size: cost grows with the
 * cube of the size. */
double sim_prof_crt_rate(const struct profile *p, size_t bits) {
  double r = 1024.0 / (double)(bits ? bits : 1024);
  return p->rsa1024_crt * r * r * r;
}

size_t ocf_sim_profiles(char *buf, size_t len) {
  size_t used = 0;
  char line[512];
  for (int i = 0; i < NPROFILES; i++) {
    const struct profile *p = &sim_profiles[i];
    int k = snprintf(line, sizeof(line),
                     "%-9s %s bus, ring %d, setup %.0f us, irq %.0f us, coalesce %d, "
                     "sessions %d, %s%s",
                     p->name, p->bus, p->ring, p->setup_us, p->irq_us, p->coalesce, p->sess_cache,
                     p->rng_mbps > 0 ? "RNG, " : "", p->rsa1024_crt > 0 ? "PK" : "no PK");
    for (int r = 0; r < MAX_RATES && p->rates[r].alg != OCF_ALG_NONE && k > 0; r++) {
      const struct ocf_alg_info *ai = ocf_alg_lookup(p->rates[r].alg);
      k += snprintf(line + k, sizeof(line) - (size_t)k, ", %s %.0f Mb/s", ai ? ai->name : "?",
                    p->rates[r].mbps);
      if ((size_t)k >= sizeof(line)) k = (int)sizeof(line) - 1;
    }
    if (p->rsa1024_crt > 0 && k > 0 && (size_t)k < sizeof(line))
      k += snprintf(line + k, sizeof(line) - (size_t)k, ", RSA-1024 CRT %.0f/s (max %zu bits)",
                    p->rsa1024_crt, p->kmax_bits);
    if (k < 0) continue;
    if ((size_t)k >= sizeof(line)) k = (int)sizeof(line) - 1;
    if (buf != NULL && used + (size_t)k + 1 < len) {
      memcpy(buf + used, line, (size_t)k);
      buf[used + (size_t)k] = '\n';
      buf[used + (size_t)k + 1] = '\0';
    }
    used += (size_t)k + 1;
  }
  return used;
}
