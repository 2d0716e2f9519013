// SPDX-License-Identifier: GPL-2.0
/*
 * Target of the livepatch relocation tests (selftests/test-relocs.sh).
 * /proc/klp_relocs_target is shown by a static function; the live patch
 * klp_relocs_mod replaces it with Rust code that calls this module's static
 * functions and reads and writes its static variable, none of them exported.
 * The variable is also a read-only parameter, so that the test sees it from
 * outside: /sys/module/klp_relocs_target/parameters/counter.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

static int klp_relocs_counter = 100;
module_param_named(counter, klp_relocs_counter, int, 0444);
MODULE_PARM_DESC(counter, "the static variable the live patch reads and increments");

/* The first of two static functions of this name (sympos 1); the second is
 * in klp_relocs_target_dup.c. */
static noinline __used int klp_relocs_dup(void)
{
	return 1;
}

static noinline __used int klp_relocs_secret(int x)
{
	return x * 7;
}

static noinline int klp_relocs_target_show(struct seq_file *m, void *v)
{
	seq_puts(m, "klp_relocs_target: unpatched\n");
	return 0;
}

static int __init klp_relocs_target_init(void)
{
	if (!proc_create_single("klp_relocs_target", 0444, NULL, klp_relocs_target_show))
		return -ENOMEM;
	return 0;
}

static void __exit klp_relocs_target_exit(void)
{
	remove_proc_entry("klp_relocs_target", NULL);
}

module_init(klp_relocs_target_init);
module_exit(klp_relocs_target_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klp-rs test: a module with static symbols for livepatch relocations");
