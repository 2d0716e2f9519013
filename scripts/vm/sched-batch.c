// SPDX-License-Identifier: GPL-2.0
/*
 * sched-batch: runs a command as a batch task with a longer time slice.
 *
 *   sched-batch SLICE_MS COMMAND [ARG...]
 *
 * scripts/vm/run.sh starts QEMU with it. Under TCG a guest is CPU-bound
 * emulation, and make check runs more guests than the host has cores (their
 * scripts sleep, so the guests fill each other's gaps). The scheduler then
 * switches between them every millisecond or two (EEVDF's base slice) and
 * whenever one of a QEMU's helper threads wakes up, and each switch evicts
 * the other guest's translated code and soft TLB from the core's caches: the
 * same guest took 133 s of host CPU alone and 172-195 s in make check.
 * SCHED_BATCH tells the scheduler that these are CPU-bound tasks whose
 * wake-ups need not preempt the running one; SLICE_MS, given to
 * sched_setattr() as sched_runtime, is how long each then runs at a time
 * (a custom slice for fair tasks since Linux 6.12, from 0.1 to 100 ms;
 * older kernels ignore it and keep their own slice). Both are inherited by
 * the threads and children of COMMAND, and neither changes the share of
 * the CPU each task gets. SLICE_MS 0 runs COMMAND as it is.
 *
 * If the kernel refuses, COMMAND runs with its scheduling unchanged, and a
 * warning says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* struct sched_attr of include/uapi/linux/sched/types.h (not in glibc 2.36). */
struct sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
	uint32_t sched_util_min;
	uint32_t sched_util_max;
};

int main(int argc, char **argv)
{
	struct sched_attr attr = { .size = sizeof(attr), .sched_policy = SCHED_BATCH };
	char *end;
	unsigned long slice_ms;

	if (argc < 3) {
		fprintf(stderr, "usage: %s SLICE_MS COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	errno = 0;
	slice_ms = strtoul(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || slice_ms > 100) {
		fprintf(stderr, "%s: SLICE_MS must be 0 to 100, not '%s'\n", argv[0], argv[1]);
		return 2;
	}
	if (slice_ms) {
		/* The nice value stays the caller's. */
		errno = 0;
		attr.sched_nice = getpriority(PRIO_PROCESS, 0);
		if (errno)
			attr.sched_nice = 0;
		attr.sched_runtime = (uint64_t)slice_ms * 1000000;
		if (syscall(SYS_sched_setattr, 0, &attr, 0))
			fprintf(stderr, "%s: sched_setattr: %s (scheduling unchanged)\n", argv[0],
				strerror(errno));
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "%s: %s: %s\n", argv[0], argv[2], strerror(errno));
	return 127;
}
