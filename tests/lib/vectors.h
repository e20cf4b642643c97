/*
 * vectors.h - a reader for the known-answer files of python3-cryptography-vectors
 * (NIST CAVP .rsp files and the cryptography project's "KEY = value" .txt
 * files), and the bookkeeping the known-answer tests share.
 *
 * File model, as the reader sees it:
 *   - "# ..." lines are comments; blank lines end a group of lines;
 *   - "[ENCRYPT]" / "[DECRYPT]" select the direction of what follows;
 *     "[A = 1, B = 2]" or "[A = 1]" set header fields;
 *   - "NAME = value" (or "NAME= value") sets a field; a bare word ("FAIL")
 *     sets a field with an empty value;
 *   - a group containing the trigger field (e.g. "COUNT", or "MD" in files
 *     without counts) is one record; its fields live until the next record.
 *     A group without the trigger sets header fields (CCM's "Key = ..." before
 *     its "Count" groups), which stick until overwritten.
 *   - a field repeated inside a group starts a new group (records not
 *     separated by blank lines).
 * Field names compare case-insensitively ("Count" = "COUNT").
 */
#ifndef OCF_TESTS_VECTORS_H
#define OCF_TESTS_VECTORS_H

#include <ocf/ocf.h>
#include <stddef.h>
#include <stdint.h>

/* ocf_vec_dir returns the vectors root: $OCF_VECTORS_DIR, or Debian's
 * /usr/lib/python3/dist-packages/cryptography_vectors. */
const char *ocf_vec_dir(void);

/* ocf_vec_require_dir fails the running cmocka test, with a message telling
 * to install python3-cryptography-vectors, when the vectors root is missing. */
void ocf_vec_require_dir(void);

struct ocf_vec;

/* ocf_vec_open opens rel (relative to ocf_vec_dir()) and returns a reader, or
 * NULL after printing why.  trigger names the field that marks a record. */
struct ocf_vec *ocf_vec_open(const char *rel, const char *trigger);

/* ocf_vec_next advances to the next record: 1 when there is one, 0 at end. */
int ocf_vec_next(struct ocf_vec *v);

/* ocf_vec_close frees the reader (NULL is fine). */
void ocf_vec_close(struct ocf_vec *v);

/* ocf_vec_str returns field name of the current record (record fields first,
 * then header fields), or NULL if absent.  Valid until ocf_vec_next. */
const char *ocf_vec_str(const struct ocf_vec *v, const char *name);

/* ocf_vec_has tells whether the current record or header has field name. */
int ocf_vec_has(const struct ocf_vec *v, const char *name);

/* ocf_vec_long parses field name as a decimal integer; def if absent or not
 * a number. */
long ocf_vec_long(const struct ocf_vec *v, const char *name, long def);

/* ocf_vec_bytes decodes field name (hex, or a "quoted" literal string) into a
 * new buffer of at least one byte that the caller frees; *len gets the byte
 * count.  ENOENT if absent, EINVAL if malformed, ENOMEM. */
int ocf_vec_bytes(const struct ocf_vec *v, const char *name, uint8_t **out, size_t *len);

/* ocf_vec_section returns 1 inside [ENCRYPT], 0 inside [DECRYPT], -1 before
 * either. */
int ocf_vec_section(const struct ocf_vec *v);

/* ocf_vec_where returns "file:line" of the current record. */
const char *ocf_vec_where(const struct ocf_vec *v);

/* --- known-answer bookkeeping ------------------------------------------- */

/* ocf_kat - per-algorithm counts of one known-answer test. */
struct ocf_kat {
  const char *alg;
  unsigned passed;
  unsigned skipped;
  unsigned failed;
  unsigned files;   /* files opened */
  const char *note; /* printed after the counts, e.g. a cap; may be NULL */
};

/* ocf_kat_fail counts a failed vector and prints where and why (the first
 * few per algorithm; the rest are only counted). */
void ocf_kat_fail(struct ocf_kat *k, const struct ocf_vec *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ocf_kat_report prints "<alg>: N vectors passed (M skipped)" and fails the
 * running cmocka test if any vector failed or fewer than min passed. */
void ocf_kat_report(const struct ocf_kat *k, unsigned min_passed);

/* ocf_kat_hexdiff formats the first differing bytes of got/want into a static
 * buffer, for failure messages. */
const char *ocf_kat_hexdiff(const uint8_t *got, const uint8_t *want, size_t len);

/* --- going through the framework ----------------------------------------- */

/* ocf_kat_session creates a one-element session. */
int ocf_kat_session(ocf_sid_t *sid, enum ocf_alg alg, const uint8_t *key, size_t keylen,
                    size_t maclen, size_t ivlen);

/* ocf_kat_run runs one request with descriptor d over the contiguous buffer
 * buf[len], in place, and returns its error. */
int ocf_kat_run(ocf_sid_t sid, const struct ocf_desc *d, uint8_t *buf, size_t len);

/* ocf_kat_iv_ok / ocf_kat_mac_ok / ocf_kat_key_ok tell whether the framework's
 * algorithm table accepts these lengths: a vector outside them is skipped, not
 * failed.  ivlen/maclen 0 means "the default" and is always fine. */
int ocf_kat_iv_ok(enum ocf_alg alg, size_t ivlen);
int ocf_kat_mac_ok(enum ocf_alg alg, size_t maclen);
int ocf_kat_key_ok(enum ocf_alg alg, size_t keylen);

/* ocf_kat_setup / ocf_kat_teardown are cmocka group fixtures that bring the
 * framework up with ocf_init(NULL) and down again. */
int ocf_kat_setup(void **state);
int ocf_kat_teardown(void **state);

#endif /* OCF_TESTS_VECTORS_H */
