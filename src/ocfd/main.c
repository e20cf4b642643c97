/* main.c - ocfd's command line and configuration file.
 *
 * Precedence: defaults < config file (-c) < $OCF_SOCKET (socket only) <
 * command-line options, so a unit file can pin what it needs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocfd/ocfd.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: ocfd [options]\n"
          "  -s, --socket PATH        listening socket (default $OCF_SOCKET or %s)\n"
          "  -c, --config FILE        read key = value settings (same names as the long options)\n"
          "  -d, --devices STRING     modeled producers, e.g. hifn7751*2 (default $OCF_DEVICES)\n"
          "  -w, --workers N          framework worker threads (0 = CPUs)\n"
          "      --policy NAME        balancing policy: sessions, capacity, size\n"
          "      --allow-soft BOOL    clients may be served by software (default yes); when no,\n"
          "                           sessions only software could serve fail with EINVAL\n"
          "      --no-soft            do not attach the software producer\n"
          "      --soft-pk-disabled   software producer refuses public-key requests\n"
          "      --max-request SIZE   longest request buffer (default 16M)\n"
          "      --max-inflight N     requests in flight per client (default 1024)\n"
          "      --max-outq SIZE      unread reply bytes per client before it is throttled (4M)\n"
          "      --max-work MS        estimated worker time of one client's requests queued\n"
          "                           and running before it is throttled (default 2000)\n"
          "      --max-clients N      simultaneous connections (default 4096)\n"
          "      --max-sessions N     sessions per connection (default 4096)\n"
          "      --max-shm SIZE       shared memory per connection (default 1G)\n"
          "      --max-maps N         regions and rings mapped, all clients together\n"
          "                           (default half of vm.max_map_count)\n"
          "      --max-shm-total SIZE shared memory mapped, all clients together (default\n"
          "                           a quarter of RAM)\n"
          "      --max-memory SIZE    the daemon's memory for all clients' buffers, requests\n"
          "                           and sessions (default a quarter of RAM)\n"
          "      --inline-max SIZE    requests up to SIZE run on the event thread (default 1K)\n"
          "      --assist-max SIZE    between events the event thread runs queued requests up\n"
          "                           to SIZE itself (default 256K; 0 = never), and the\n"
          "                           framework starts one worker fewer than CPUs\n"
          "      --poll-us N          with clients on rings, the event thread polls them\n"
          "                           instead of sleeping for N us after their last activity\n"
          "                           (10 N while requests run; default 100; 0 = never)\n"
          "      --follow BOOL        the event thread moves to the CPU of a ring client it\n"
          "                           keeps waking on another one (default yes)\n"
          "      --group NAME         group owning the socket (mode 0660)\n"
          "      --allow-uids LIST    only these peer uids (plus root and ours) may connect\n"
          "  -v, --verbose            more logging (repeat)\n"
          "  -h, --help\n",
          OCFD_DEFAULT_SOCKET);
}

int main(int argc, char **argv) {
  struct ocfd_conf conf;
  ocfd_conf_defaults(&conf);
  static const struct option longopts[] = {{"socket", required_argument, NULL, 's'},
                                           {"config", required_argument, NULL, 'c'},
                                           {"devices", required_argument, NULL, 'd'},
                                           {"workers", required_argument, NULL, 'w'},
                                           {"verbose", no_argument, NULL, 'v'},
                                           {"help", no_argument, NULL, 'h'},
                                           {"policy", required_argument, NULL, 1},
                                           {"allow-soft", required_argument, NULL, 1},
                                           {"no-soft", no_argument, NULL, 2},
                                           {"soft-pk-disabled", no_argument, NULL, 2},
                                           {"max-request", required_argument, NULL, 1},
                                           {"max-inflight", required_argument, NULL, 1},
                                           {"max-inflight-bytes", required_argument, NULL, 1},
                                           {"max-outq", required_argument, NULL, 1},
                                           {"max-work", required_argument, NULL, 1},
                                           {"max-clients", required_argument, NULL, 1},
                                           {"max-sessions", required_argument, NULL, 1},
                                           {"max-shm", required_argument, NULL, 1},
                                           {"max-maps", required_argument, NULL, 1},
                                           {"max-shm-total", required_argument, NULL, 1},
                                           {"max-memory", required_argument, NULL, 1},
                                           {"inline-max", required_argument, NULL, 1},
                                           {"assist-max", required_argument, NULL, 1},
                                           {"poll-us", required_argument, NULL, 1},
                                           {"follow", required_argument, NULL, 1},
                                           {"group", required_argument, NULL, 1},
                                           {"allow-uids", required_argument, NULL, 1},
                                           {NULL, 0, NULL, 0}};
  /* First pass: the config file, so options given on the line win. */
  for (int i = 1; i < argc; i++) {
    const char *path = NULL;
    if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
      path = argv[i + 1];
    else if (!strncmp(argv[i], "--config=", 9))
      path = argv[i] + 9;
    if (path && ocfd_conf_file(&conf, path) != 0) return 2;
  }
  const char *env = getenv("OCF_SOCKET");
  if (env != NULL && *env != '\0' && ocfd_conf_set(&conf, "socket", env) != 0) {
    fprintf(stderr, "ocfd: OCF_SOCKET is too long\n");
    return 2;
  }
  int opt, idx = 0, verbose = conf.verbose;
  while ((opt = getopt_long(argc, argv, "s:c:d:w:vh", longopts, &idx)) != -1) {
    int rc = 0;
    switch (opt) {
      case 's':
        rc = ocfd_conf_set(&conf, "socket", optarg);
        break;
      case 'c':
        break;
      case 'd':
        rc = ocfd_conf_set(&conf, "devices", optarg);
        break;
      case 'w':
        rc = ocfd_conf_set(&conf, "workers", optarg);
        break;
      case 'v':
        verbose++;
        break;
      case 'h':
        usage(stdout);
        return 0;
      case 1:
        rc = ocfd_conf_set(&conf, longopts[idx].name, optarg);
        break;
      case 2:
        rc = ocfd_conf_set(&conf, longopts[idx].name, "1");
        break;
      default:
        usage(stderr);
        return 2;
    }
    if (rc) {
      fprintf(stderr, "ocfd: bad value for option %s\n",
              opt == 1 ? longopts[idx].name : argv[optind - 1]);
      return 2;
    }
  }
  if (optind < argc) {
    usage(stderr);
    return 2;
  }
  conf.verbose = verbose;
  ocfd_verbose = verbose;
  return ocfd_serve(&conf);
}
