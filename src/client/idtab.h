/* idtab.h - entries found by a 32-bit id: an open-addressed table (linear
 * probing, at most half full, backward-shift deletion) of pointers, each
 * entry carrying its own id, read through a function the caller gives.
 * Shared, like wire.h, by the daemon (its clients' sessions) and the
 * preload shim (a /dev/crypto descriptor's sessions): both look a session
 * up on every request, and a connection may hold thousands.
 *
 * The table only indexes: the entries belong to the caller, who also keeps
 * them in a list of its own for walking. */
#ifndef OCF_CLIENT_IDTAB_H
#define OCF_CLIENT_IDTAB_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

struct idtab {
  void **slot;
  uint32_t cap; /* a power of two, or 0 */
  uint32_t n;
};

typedef uint32_t (*idtab_key_fn)(const void *entry);

/* The home slot: Fibonacci hashing (the product's top bits), so that
 * consecutive ids (the shim's, after a collision) do not form one run.
 * cap is at least 16 here. */
static inline uint32_t idtab_home(const struct idtab *t, uint32_t id) {
  return (uint32_t)(id * 2654435769u) >> (32 - __builtin_ctz(t->cap));
}

static inline void *idtab_find(const struct idtab *t, uint32_t id, idtab_key_fn key) {
  if (t->cap == 0) return NULL;
  for (uint32_t i = idtab_home(t, id);; i = (i + 1) & (t->cap - 1)) {
    void *e = t->slot[i];
    if (e == NULL || key(e) == id) return e;
  }
}

static inline void idtab_put_(struct idtab *t, void *e, idtab_key_fn key) {
  uint32_t i = idtab_home(t, key(e));
  while (t->slot[i] != NULL) i = (i + 1) & (t->cap - 1);
  t->slot[i] = e;
  t->n++;
}

/* idtab_add indexes e (whose id is not in the table yet): 0, or ENOMEM
 * when the table had to grow and could not (it is unchanged then). */
static inline int idtab_add(struct idtab *t, void *e, idtab_key_fn key) {
  if ((uint64_t)(t->n + 1) * 2 > t->cap) {
    uint32_t cap = t->cap ? t->cap * 2 : 16;
    void **s = (void **)calloc(cap, sizeof(*s));
    if (s == NULL) return ENOMEM;
    struct idtab old = *t;
    t->slot = s;
    t->cap = cap;
    t->n = 0;
    for (uint32_t i = 0; i < old.cap; i++)
      if (old.slot[i] != NULL) idtab_put_(t, old.slot[i], key);
    free(old.slot);
  }
  idtab_put_(t, e, key);
  return 0;
}

/* idtab_del takes e out; the entries after it that a lookup would no longer
 * reach past the hole move back into it. */
static inline void idtab_del(struct idtab *t, const void *e, idtab_key_fn key) {
  if (t->cap == 0) return;
  uint32_t mask = t->cap - 1, i = idtab_home(t, key(e));
  while (t->slot[i] != e) {
    if (t->slot[i] == NULL) return; /* not indexed */
    i = (i + 1) & mask;
  }
  for (uint32_t j = i;;) {
    j = (j + 1) & mask;
    void *x = t->slot[j];
    if (x == NULL) break;
    uint32_t home = idtab_home(t, key(x));
    int reached = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!reached) {
      t->slot[i] = x;
      i = j;
    }
  }
  t->slot[i] = NULL;
  t->n--;
}

static inline void idtab_free(struct idtab *t) {
  free(t->slot);
  t->slot = NULL;
  t->cap = t->n = 0;
}

#endif /* OCF_CLIENT_IDTAB_H */
