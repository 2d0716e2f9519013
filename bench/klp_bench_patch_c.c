// SPDX-License-Identifier: GPL-2.0
/*
 * klp_bench_patch_c: the C live patch of the benchmark, the control for the
 * Rust one (klp_bench_patch_rs.rs), which patches the same functions with
 * the same code.
 *
 * It replaces two functions of the module klp_bench_target:
 *   klp_bench_target_fn()  x + 1 becomes x + 2
 *   klp_bench_blocker()    returns at once (never called in the benchmark:
 *                          it is patched so that a task asleep in the
 *                          original keeps the transition open)
 * Atomic replace is on, as in every klp-rs patch.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>

static int livepatch_klp_bench_target_fn(int x)
{
	return x + 2;
}

static void livepatch_klp_bench_blocker(void)
{
}

static struct klp_func funcs[] = {
	{
		.old_name = "klp_bench_target_fn",
		.new_func = livepatch_klp_bench_target_fn,
	},
	{
		.old_name = "klp_bench_blocker",
		.new_func = livepatch_klp_bench_blocker,
	}, { }
};

static struct klp_object objs[] = {
	{
		.name = "klp_bench_target",
		.funcs = funcs,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
	.replace = true,
};

static int klp_bench_patch_c_init(void)
{
	return klp_enable_patch(&patch);
}

static void klp_bench_patch_c_exit(void)
{
}

module_init(klp_bench_patch_c_init);
module_exit(klp_bench_patch_c_exit);
MODULE_DESCRIPTION("klp-rs benchmark: C live patch of klp_bench_target");
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
