/* json.c - the two JSON value writers `ocf bench --json` needs. */
#include <math.h>
#include <stdio.h>

#include "bench.h"

void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

/* JSON has no NaN or infinity; an unmeasurable value is null. */
void json_num(FILE *f, double v) {
  if (isfinite(v) && fabs(v) >= 1e5)
    fprintf(f, "%.0f", v);
  else if (isfinite(v))
    fprintf(f, "%.6g", v);
  else
    fputs("null", f);
}
