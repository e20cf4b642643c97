/* fuzz_conf.c - libFuzzer target for ocf-ipsecd's configuration parser
 * (src/ipsecd/conf.c, conf_sa.c): each input is written to a private file
 * and loaded with conf_load.  The input's first line, when it starts with
 * "#keys ", is written instead to a second file (mode 600) that the
 * configuration can name with "keys %KEYS%", so that the key-file parser
 * and the "@name" references are reached too.  A load must either succeed
 * or fail with an error message naming the file ("FILE:LINE: what", the
 * file being the configuration or the key file it names) and no
 * configuration; crashes, leaks and undefined behaviour are the
 * sanitizers'. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipsecd/ipsecd.h"

/* the daemon's log goes nowhere here */
void gw_log(int level, const char *fmt, ...) {
  (void)level;
  (void)fmt;
}

static char dir[64], cpath[96], kpath[96];

static void cleanup(void) {
  unlink(cpath);
  unlink(kpath);
  rmdir(dir);
}

static void put(const char *path, const uint8_t *p, size_t n, mode_t mode) {
  FILE *f = fopen(path, "w");
  if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0) abort();
  chmod(path, mode);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (dir[0] == '\0') {
    snprintf(dir, sizeof(dir), "/tmp/ocf-fuzz-conf.XXXXXX");
    if (mkdtemp(dir) == NULL) abort();
    snprintf(cpath, sizeof(cpath), "%s/gw.conf", dir);
    snprintf(kpath, sizeof(kpath), "%s/keys", dir);
    atexit(cleanup);
  }
  /* "#keys " first line: the rest of the input up to a line "#end" is
   * the key file */
  const uint8_t *conf = data;
  size_t clen = size;
  static const char tag[] = "#keys \n", end[] = "\n#end\n";
  if (size >= sizeof(tag) - 1 && memcmp(data, tag, sizeof(tag) - 1) == 0) {
    const uint8_t *k = data + sizeof(tag) - 1;
    size_t klen = size - (sizeof(tag) - 1);
    const uint8_t *e = memmem(k, klen, end, sizeof(end) - 1);
    size_t kn = e ? (size_t)(e - k) : klen;
    put(kpath, k, kn, 0600);
    conf = e ? e + sizeof(end) - 1 : k + klen;
    clen = (size_t)(data + size - conf);
  } else {
    unlink(kpath);
  }
  /* "%KEYS%" stands for the key file's path */
  char *text = malloc(clen * 16 + 1), *w = text;
  if (text == NULL) abort();
  for (size_t i = 0; i < clen; i++) {
    if (clen - i >= 6 && memcmp(conf + i, "%KEYS%", 6) == 0) {
      w += sprintf(w, "%s", kpath);
      i += 5;
    } else {
      *w++ = (char)conf[i];
    }
  }
  put(cpath, (const uint8_t *)text, (size_t)(w - text), 0600);
  free(text);
  struct conf *c = NULL;
  char err[512] = "";
  int rc = conf_load(cpath, &c, err, sizeof(err));
  if (rc == 0) {
    if (c == NULL) abort();
    conf_free(c);
  } else if (c != NULL || strstr(err, ": ") == NULL) {
    fprintf(stderr, "fuzz_conf: rc %d, conf %p, message \"%s\"\n", rc, (void *)c, err);
    abort();
  }
  return 0;
}
