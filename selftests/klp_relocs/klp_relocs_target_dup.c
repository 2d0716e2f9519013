// SPDX-License-Identifier: GPL-2.0
/*
 * The second static function named klp_relocs_dup in klp_relocs_target
 * (sympos 2): kallsyms lists this file's symbols after those of
 * klp_relocs_target_main.c, which is linked first.
 */
#include <linux/compiler.h>

static noinline __used int klp_relocs_dup(void)
{
	return 2;
}
