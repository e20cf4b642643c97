/*
 * cpu.h - the dedicated-core producer ("cpu"): an asynchronous producer whose
 * engine is a pool of worker threads of its own (optionally pinned to cores),
 * so that a single-threaded consumer gets parallel crypto while its own core
 * stays free (the paper's section 6.4 "AMP" idea).  Real crypto, real speed,
 * with OpenSSL 3 libcrypto.
 *
 * Requests run through the built-in producers' one transform engine
 * (src/drivers/engine).
 */
#ifndef OCF_DRIVERS_CPU_H
#define OCF_DRIVERS_CPU_H

#include <ocf/driver.h>
#include <stdbool.h>
#include <stdint.h>

#include <ocf/devices.h> /* ocf_cpu_attach, ocf_cpu_detach */

#endif /* OCF_DRIVERS_CPU_H */
