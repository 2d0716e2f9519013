/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What klp_bench_target exports to the klp_bench harness. The live patches
 * find these functions by name (kallsyms), not through this header.
 */
#ifndef KLP_BENCH_H
#define KLP_BENCH_H

#include <linux/types.h>

/* How many klp_bench_nop_NN() functions the target module has. */
#define KLP_BENCH_NOPS 100

int klp_bench_target_fn(int x);
int klp_bench_ref_fn(int x);
void klp_bench_blocker(void);
int klp_bench_blocked(void);
void klp_bench_release(bool release);
int klp_bench_call_nops(void);

#endif /* KLP_BENCH_H */
