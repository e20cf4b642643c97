/* spec.c - the device string ("hifn7751*4@pci64,bcm5820:mode=timing", see
 * sim.h): its parser, which names what it does not accept, and sim_perr,
 * the one way the producer's errors reach the caller's message buffer.
 * Separate because it is input from outside, checked before any card
 * exists. */
#include "drivers/sim/sim_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* --- device strings -------------------------------------------------------- */

int sim_perr(char *err, size_t errlen, const char *fmt, ...) {
  if (err != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return EINVAL;
}

/* trim: the token [*s, *e) without surrounding blanks. */
static void trim(const char **s, const char **e) {
  while (*s < *e && (**s == ' ' || **s == '\t')) (*s)++;
  while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) (*e)--;
}

static bool parse_uint(const char *s, const char *e, unsigned long max, unsigned long *out) {
  if (s == e) return false;
  unsigned long v = 0;
  for (; s < e; s++) {
    if (*s < '0' || *s > '9') return false;
    v = v * 10 + (unsigned long)(*s - '0');
    if (v > max) return false;
  }
  *out = v;
  return true;
}

static int parse_bus(const char *s, const char *e, char *out, const char *item, char *err,
                     size_t errlen) {
  size_t n = (size_t)(e - s);
  if ((n == 5 || (n > 6 && s[5] == '.')) &&
      (strncmp(s, "pci32", 5) == 0 || strncmp(s, "pci64", 5) == 0)) {
    unsigned long k;
    if (n == 5 || parse_uint(s + 6, e, 99, &k)) {
      snprintf(out, 16, "%.*s", (int)n, s);
      return 0;
    }
  }
  return sim_perr(err, errlen,
                  "device string: unknown bus '%.*s' in '%s' (pci32 or pci64, optionally .N)",
                  (int)n, s, item);
}

static int parse_group(const char *s, const char *e, struct spec *sp, int pos, char *err,
                       size_t errlen) {
  trim(&s, &e);
  char item[96];
  snprintf(item, sizeof(item), "%.*s", (int)(e - s), s);
  if (s == e) return sim_perr(err, errlen, "device string: empty card entry at position %d", pos);
  const char *star = memchr(s, '*', (size_t)(e - s)), *at = memchr(s, '@', (size_t)(e - s));
  if (star != NULL && at != NULL && star > at)
    return sim_perr(err, errlen, "device string: in '%s', write card*N@bus", item);
  const char *nend = star ? star : at ? at : e;
  const char *ns = s, *ne = nend;
  trim(&ns, &ne);
  struct group g = {.prof = -1, .count = 1};
  for (int i = 0; i < NPROFILES; i++)
    if ((size_t)(ne - ns) == strlen(sim_profiles[i].name) &&
        strncasecmp(ns, sim_profiles[i].name, (size_t)(ne - ns)) == 0)
      g.prof = i;
  if (g.prof < 0) {
    char known[128] = "";
    for (int i = 0; i < NPROFILES; i++) {
      strncat(known, i ? ", " : "", sizeof(known) - strlen(known) - 1);
      strncat(known, sim_profiles[i].name, sizeof(known) - strlen(known) - 1);
    }
    return sim_perr(err, errlen, "device string: unknown card '%.*s' in '%s' (known: %s)",
                    (int)(ne - ns), ns, item, known);
  }
  if (star != NULL) {
    const char *cs = star + 1, *ce = at ? at : e;
    trim(&cs, &ce);
    unsigned long n;
    if (!parse_uint(cs, ce, MAX_CARDS, &n) || n == 0)
      return sim_perr(err, errlen, "device string: bad count '*%.*s' in '%s' (1..%d)",
                      (int)(ce - cs), cs, item, MAX_CARDS);
    g.count = (int)n;
  }
  if (at != NULL) {
    const char *bs = at + 1, *be = e;
    trim(&bs, &be);
    int rc = parse_bus(bs, be, g.bus, item, err, errlen);
    if (rc != 0) return rc;
  } else {
    snprintf(g.bus, sizeof(g.bus), "%s", sim_profiles[g.prof].bus);
  }
  if (sp->ng == MAX_CARDS || sp->total + g.count > MAX_CARDS)
    return sim_perr(err, errlen, "device string: more than %d cards", MAX_CARDS);
  sp->g[sp->ng++] = g;
  sp->total += g.count;
  return 0;
}

static int parse_option(const char *s, const char *e, struct spec *sp, char *err, size_t errlen) {
  trim(&s, &e);
  if (s == e) return sim_perr(err, errlen, "device string: empty option");
  const char *eq = memchr(s, '=', (size_t)(e - s));
  if (eq == NULL)
    return sim_perr(err, errlen, "device string: option '%.*s' needs a value (mode=, watchdog=)",
                    (int)(e - s), s);
  const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
  trim(&ks, &ke);
  trim(&vs, &ve);
  size_t kn = (size_t)(ke - ks), vn = (size_t)(ve - vs);
  if (kn == 4 && strncmp(ks, "mode", 4) == 0) {
    if (vn == 5 && strncmp(vs, "exact", 5) == 0)
      sp->timing = false;
    else if (vn == 6 && strncmp(vs, "timing", 6) == 0)
      sp->timing = true;
    else
      return sim_perr(err, errlen, "device string: bad mode '%.*s' (exact or timing)", (int)vn, vs);
    return 0;
  }
  if (kn == 8 && strncmp(ks, "watchdog", 8) == 0) {
    unsigned long ms;
    if (!parse_uint(vs, ve, 3600000, &ms) || ms == 0)
      return sim_perr(err, errlen, "device string: bad watchdog '%.*s' (milliseconds, 1..3600000)",
                      (int)vn, vs);
    sp->wd_ms = ms;
    return 0;
  }
  return sim_perr(err, errlen, "device string: unknown option '%.*s' (mode, watchdog)", (int)kn,
                  ks);
}

int sim_parse_spec(const char *spec, struct spec *sp, char *err, size_t errlen) {
  memset(sp, 0, sizeof(*sp));
  sp->wd_ms = DEFAULT_WD_MS;
  if (spec == NULL) return sim_perr(err, errlen, "device string: none given");
  const char *colon = strchr(spec, ':');
  const char *end = colon ? colon : spec + strlen(spec);
  const char *s = spec;
  int pos = 1;
  for (;;) {
    const char *comma = memchr(s, ',', (size_t)(end - s));
    const char *e = comma ? comma : end;
    int rc = parse_group(s, e, sp, pos++, err, errlen);
    if (rc != 0) return rc;
    if (comma == NULL) break;
    s = comma + 1;
  }
  if (colon != NULL) {
    s = colon + 1;
    for (;;) {
      const char *sep = s + strcspn(s, ",:");
      int rc = parse_option(s, sep, sp, err, errlen);
      if (rc != 0) return rc;
      if (*sep == '\0') break;
      s = sep + 1;
    }
  }
  return 0;
}
