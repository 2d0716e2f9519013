// SPDX-License-Identifier: GPL-2.0
/*
 * tsc-khz: the host's TSC frequency in kHz, measured against
 * CLOCK_MONOTONIC_RAW over 50 ms (the largest of three measurements: the
 * reads are ordered so that a delay between two of them can only lower it).
 * Under TCG the guest's TSC is the host's (QEMU's rdtsc reads the host's),
 * so scripts/vm/run.sh gives the guest this value (tsc_early_khz=) instead
 * of letting it calibrate under load.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static uint64_t ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

int main(void)
{
	uint64_t best = 0;

	for (int i = 0; i < 3; i++) {
		uint64_t t0 = ns(), c0 = __rdtsc(), t1, c1;
		struct timespec wait = { 0, 50000000 };

		nanosleep(&wait, NULL);
		c1 = __rdtsc();
		t1 = ns();
		/* A delay after t0 or before t1 shortens c1 - c0 against
		 * t1 - t0: the largest rate is the least disturbed. */
		uint64_t khz = (c1 - c0) * 1000000u / (t1 - t0);
		if (khz > best)
			best = khz;
	}
	printf("%llu\n", (unsigned long long)best);
	return 0;
}
