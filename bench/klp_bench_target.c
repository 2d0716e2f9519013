// SPDX-License-Identifier: GPL-2.0
/*
 * klp_bench_target: the functions the klp-rs benchmark live patches.
 *
 * Every function here is noinline and called from another module
 * (klp_bench), so each call is a real call through the function's ftrace
 * entry, which is where a live patch redirects it:
 *
 *   klp_bench_target_fn()     the function whose per-call cost is measured;
 *                             returns x + 1 (the bench patches return x + 2)
 *   klp_bench_ref_fn()        the same, never patched: the reference each
 *                             measurement of klp_bench_target_fn() is paired
 *                             with
 *   klp_bench_blocker()       sleeps until klp_bench_release(); a task asleep
 *                             in it keeps a patch transition open
 *   klp_bench_nop_00 .. _99   trivial functions for the K-function patches
 *                             whose atomic replacement makes K NOP entries;
 *                             return 0 (the K patches return NN + 1)
 */
#include <linux/completion.h>
#include <linux/module.h>

#include "klp_bench.h"

noinline int klp_bench_target_fn(int x)
{
	/* Keeps the body, and so the call, from being folded away. */
	asm volatile("");
	return x + 1;
}
EXPORT_SYMBOL_GPL(klp_bench_target_fn);

noinline int klp_bench_ref_fn(int x)
{
	asm volatile("");
	return x + 1;
}
EXPORT_SYMBOL_GPL(klp_bench_ref_fn);

static DECLARE_COMPLETION(klp_bench_released);
static atomic_t klp_bench_blocked_tasks = ATOMIC_INIT(0);

noinline void klp_bench_blocker(void)
{
	/* From here on this function is on the task's stack. */
	atomic_inc(&klp_bench_blocked_tasks);
	wait_for_completion(&klp_bench_released);
	atomic_dec(&klp_bench_blocked_tasks);
}
EXPORT_SYMBOL_GPL(klp_bench_blocker);

/* How many tasks are inside klp_bench_blocker() now. */
int klp_bench_blocked(void)
{
	return atomic_read(&klp_bench_blocked_tasks);
}
EXPORT_SYMBOL_GPL(klp_bench_blocked);

/* Lets the tasks in klp_bench_blocker() go (true), or re-arms it (false). */
void klp_bench_release(bool release)
{
	if (release)
		complete_all(&klp_bench_released);
	else
		reinit_completion(&klp_bench_released);
}
EXPORT_SYMBOL_GPL(klp_bench_release);

/* klp_bench_nop_00 .. klp_bench_nop_99, and a table of them. */
#define KLP_BENCH_NOP(n)				\
	int klp_bench_nop_##n(void);			\
	noinline int klp_bench_nop_##n(void)		\
	{						\
		asm volatile("");			\
		return 0;				\
	}
#define KLP_BENCH_NOP10(d)						\
	KLP_BENCH_NOP(d##0) KLP_BENCH_NOP(d##1) KLP_BENCH_NOP(d##2)	\
	KLP_BENCH_NOP(d##3) KLP_BENCH_NOP(d##4) KLP_BENCH_NOP(d##5)	\
	KLP_BENCH_NOP(d##6) KLP_BENCH_NOP(d##7) KLP_BENCH_NOP(d##8)	\
	KLP_BENCH_NOP(d##9)
#define KLP_BENCH_REF(n) klp_bench_nop_##n,
#define KLP_BENCH_REF10(d)						\
	KLP_BENCH_REF(d##0) KLP_BENCH_REF(d##1) KLP_BENCH_REF(d##2)	\
	KLP_BENCH_REF(d##3) KLP_BENCH_REF(d##4) KLP_BENCH_REF(d##5)	\
	KLP_BENCH_REF(d##6) KLP_BENCH_REF(d##7) KLP_BENCH_REF(d##8)	\
	KLP_BENCH_REF(d##9)

KLP_BENCH_NOP10(0) KLP_BENCH_NOP10(1) KLP_BENCH_NOP10(2) KLP_BENCH_NOP10(3)
KLP_BENCH_NOP10(4) KLP_BENCH_NOP10(5) KLP_BENCH_NOP10(6) KLP_BENCH_NOP10(7)
KLP_BENCH_NOP10(8) KLP_BENCH_NOP10(9)

static int (*const klp_bench_nops[KLP_BENCH_NOPS])(void) = {
	KLP_BENCH_REF10(0) KLP_BENCH_REF10(1) KLP_BENCH_REF10(2)
	KLP_BENCH_REF10(3) KLP_BENCH_REF10(4) KLP_BENCH_REF10(5)
	KLP_BENCH_REF10(6) KLP_BENCH_REF10(7) KLP_BENCH_REF10(8)
	KLP_BENCH_REF10(9)
};

/* Calls every klp_bench_nop_NN(): how many do not return 0, that is, are patched. */
int klp_bench_call_nops(void)
{
	int i, patched = 0;

	for (i = 0; i < KLP_BENCH_NOPS; i++)
		patched += klp_bench_nops[i]() != 0;
	return patched;
}
EXPORT_SYMBOL_GPL(klp_bench_call_nops);

MODULE_DESCRIPTION("klp-rs benchmark: functions to live patch");
MODULE_LICENSE("GPL");
