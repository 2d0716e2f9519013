// SPDX-License-Identifier: GPL-2.0
/*
 * klp_bench: the harness of `make bench`, driven through debugfs.
 *
 * /sys/kernel/debug/klp_bench/
 *   calls    write "ITERS REPS": call klp_bench_target_fn() ITERS times in a
 *            tight loop, REPS times over, each time paired with the same
 *            loop over klp_bench_ref_fn(), which is never patched (in
 *            alternating order); read: "RET REF1 PS1 REF2 PS2 ...", RET being
 *            what one call returns now (1 unpatched, 2 patched), PSi and
 *            REFi the cost of one call of each in repetition i, in
 *            picoseconds. The pairs let the host divide out how fast the
 *            emulated CPU ran at the time.
 *   tasks    write "sleep N" or "busy N": start N kernel threads that sleep,
 *            or spin as SCHED_IDLE tasks (yielding with cond_resched()),
 *            and return once each has run; write "stop" to end them
 *   blocker  write 1: start a thread asleep in klp_bench_blocker(), which
 *            holds any transition of a patch of that function open, and
 *            return once it is in there; write 0: let it go
 *   align    write MS: return once jiffies is MS milliseconds past a whole
 *            second (the livepatch core retries a transition on whole seconds)
 *   nops     read: how many klp_bench_nop_NN() functions are patched now
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <uapi/linux/sched/types.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "klp_bench.h"

#define KLP_BENCH_MAX_REPS 32
#define KLP_BENCH_MAX_TASKS 4096

static DEFINE_MUTEX(klp_bench_lock);
static struct dentry *klp_bench_dir;

/* The last `calls` result, as text. */
static char klp_bench_result[32 + KLP_BENCH_MAX_REPS * 48];

/* The `tasks` threads, and the flag that ends the busy ones' spinning. */
static struct task_struct **klp_bench_tasks;
static unsigned int klp_bench_ntasks;
static const char *klp_bench_task_kind = "none";
static bool klp_bench_stop_spinning;
/* How many of them have started running, and who waits for all of them. */
static atomic_t klp_bench_started;
static DECLARE_WAIT_QUEUE_HEAD(klp_bench_started_wq);

static struct task_struct *klp_bench_blocker_task;

/* Where the `calls` loop leaves the sum of what it got back. */
static int klp_bench_sink;

/* Reads a user write of at most 63 characters into @buf, NUL-terminated. */
static int klp_bench_get_user(char *buf, size_t size, const char __user *ubuf,
			      size_t count)
{
	if (count >= size)
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	return 0;
}

/* Sleeps until kthread_stop(). */
static void klp_bench_sleep_until_stopped(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

/* Tells klp_bench_start_tasks() that one more task runs. */
static void klp_bench_task_started(void)
{
	atomic_inc(&klp_bench_started);
	wake_up(&klp_bench_started_wq);
}

static int klp_bench_sleeper(void *data)
{
	klp_bench_task_started();
	klp_bench_sleep_until_stopped();
	return 0;
}

/*
 * Spins, as a SCHED_IDLE task (set before it first runs): the kernel's own
 * workers (the livepatch transition work, RCU, the workqueues text patching
 * and klp_synchronize_transition() wait for) still get the CPU when they
 * need it. As normal tasks, 100 spinners on 2 CPUs starved them so that
 * disabling one patch took 87 s; at nice 19, 1000 on one CPU still held a
 * woken kworker back for seconds.
 */
static int klp_bench_spinner(void *data)
{
	klp_bench_task_started();
	while (!READ_ONCE(klp_bench_stop_spinning) && !kthread_should_stop())
		cond_resched();
	klp_bench_sleep_until_stopped();
	return 0;
}

static int klp_bench_blocker_thread(void *data)
{
	klp_bench_blocker();
	klp_bench_sleep_until_stopped();
	return 0;
}

/*
 * The cost of one call of @fn, in picoseconds, over a loop of @iters calls.
 * Always inlined, so that the calls are direct ones.
 */
static __always_inline u64 klp_bench_loop(int (*fn)(int), unsigned int iters)
{
	unsigned int i;
	u64 start, end;
	int sum = 0;

	start = ktime_get_ns();
	for (i = 0; i < iters; i++)
		sum += fn(i);
	end = ktime_get_ns();
	WRITE_ONCE(klp_bench_sink, sum);
	return div_u64((end - start) * 1000, iters);
}

static ssize_t klp_bench_calls_write(struct file *file, const char __user *ubuf,
				     size_t count, loff_t *ppos)
{
	u64 ps[KLP_BENCH_MAX_REPS], ref[KLP_BENCH_MAX_REPS];
	unsigned int iters, reps, rep;
	char buf[64];
	int len, ret;

	ret = klp_bench_get_user(buf, sizeof(buf), ubuf, count);
	if (ret)
		return ret;
	if (sscanf(buf, "%u %u", &iters, &reps) != 2 || !iters || !reps ||
	    reps > KLP_BENCH_MAX_REPS)
		return -EINVAL;

	mutex_lock(&klp_bench_lock);
	for (rep = 0; rep < reps; rep++) {
		cond_resched();
		if (rep % 2) {
			ref[rep] = klp_bench_loop(klp_bench_ref_fn, iters);
			ps[rep] = klp_bench_loop(klp_bench_target_fn, iters);
		} else {
			ps[rep] = klp_bench_loop(klp_bench_target_fn, iters);
			ref[rep] = klp_bench_loop(klp_bench_ref_fn, iters);
		}
	}

	len = scnprintf(klp_bench_result, sizeof(klp_bench_result), "%d",
			klp_bench_target_fn(0));
	for (rep = 0; rep < reps; rep++)
		len += scnprintf(klp_bench_result + len,
				 sizeof(klp_bench_result) - len, " %llu %llu",
				 ref[rep], ps[rep]);
	scnprintf(klp_bench_result + len, sizeof(klp_bench_result) - len, "\n");
	mutex_unlock(&klp_bench_lock);
	return count;
}

static ssize_t klp_bench_calls_read(struct file *file, char __user *ubuf,
				    size_t count, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&klp_bench_lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, klp_bench_result,
				      strlen(klp_bench_result));
	mutex_unlock(&klp_bench_lock);
	return ret;
}

/* Ends the `tasks` threads. Called with klp_bench_lock held. */
static void klp_bench_stop_tasks(void)
{
	unsigned int i;

	/* Let every spinner leave its loop before waiting for any one. */
	WRITE_ONCE(klp_bench_stop_spinning, true);
	for (i = 0; i < klp_bench_ntasks; i++) {
		kthread_stop(klp_bench_tasks[i]);
		put_task_struct(klp_bench_tasks[i]);
	}
	kvfree(klp_bench_tasks);
	klp_bench_tasks = NULL;
	klp_bench_ntasks = 0;
	klp_bench_task_kind = "none";
}

/* Starts @n threads running @fn. Called with klp_bench_lock held. */
static int klp_bench_start_tasks(int (*fn)(void *), const char *kind,
				 unsigned int n)
{
	unsigned int i;

	klp_bench_tasks = kvcalloc(n, sizeof(*klp_bench_tasks), GFP_KERNEL);
	if (!klp_bench_tasks)
		return -ENOMEM;
	WRITE_ONCE(klp_bench_stop_spinning, false);
	klp_bench_task_kind = kind;
	/* Create them all first, so spinners do not slow the creation down. */
	for (i = 0; i < n; i++) {
		struct task_struct *task;

		task = kthread_create(fn, NULL, "klp_bench_%s/%u", kind, i);
		if (IS_ERR(task)) {
			klp_bench_stop_tasks();
			return PTR_ERR(task);
		}
		get_task_struct(task);
		/* Before it first runs, so that it never competes as a normal task. */
		if (fn == klp_bench_spinner) {
			struct sched_attr attr = { .sched_policy = SCHED_IDLE };

			WARN_ON_ONCE(sched_setattr_nocheck(task, &attr));
		}
		klp_bench_tasks[klp_bench_ntasks++] = task;
	}
	atomic_set(&klp_bench_started, 0);
	for (i = 0; i < n; i++)
		wake_up_process(klp_bench_tasks[i]);
	/* A task that never ran is not yet asleep (or spinning) where it should be. */
	if (!wait_event_timeout(klp_bench_started_wq,
				atomic_read(&klp_bench_started) == n, 10 * HZ))
		pr_warn("klp_bench: only %d of %u tasks started within 10 s\n",
			atomic_read(&klp_bench_started), n);
	return 0;
}

static ssize_t klp_bench_tasks_write(struct file *file, const char __user *ubuf,
				     size_t count, loff_t *ppos)
{
	unsigned int n = 0;
	char kind[8], buf[64];
	int ret;

	ret = klp_bench_get_user(buf, sizeof(buf), ubuf, count);
	if (ret)
		return ret;
	if (sscanf(buf, "%7s %u", kind, &n) < 1)
		return -EINVAL;

	mutex_lock(&klp_bench_lock);
	klp_bench_stop_tasks();
	if (!strcmp(kind, "stop"))
		ret = 0;
	else if (!n || n > KLP_BENCH_MAX_TASKS)
		ret = -EINVAL;
	else if (!strcmp(kind, "sleep"))
		ret = klp_bench_start_tasks(klp_bench_sleeper, "sleep", n);
	else if (!strcmp(kind, "busy"))
		ret = klp_bench_start_tasks(klp_bench_spinner, "busy", n);
	else
		ret = -EINVAL;
	mutex_unlock(&klp_bench_lock);
	return ret ? ret : count;
}

static ssize_t klp_bench_tasks_read(struct file *file, char __user *ubuf,
				    size_t count, loff_t *ppos)
{
	char buf[32];
	int len;

	mutex_lock(&klp_bench_lock);
	len = scnprintf(buf, sizeof(buf), "%s %u\n", klp_bench_task_kind,
			klp_bench_ntasks);
	mutex_unlock(&klp_bench_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

/* Lets the blocker thread go, if there is one. Called with klp_bench_lock held. */
static void klp_bench_stop_blocker(void)
{
	if (!klp_bench_blocker_task)
		return;
	klp_bench_release(true);
	kthread_stop(klp_bench_blocker_task);
	put_task_struct(klp_bench_blocker_task);
	klp_bench_blocker_task = NULL;
}

static ssize_t klp_bench_blocker_write(struct file *file, const char __user *ubuf,
				       size_t count, loff_t *ppos)
{
	struct task_struct *task;
	bool block;
	int ret;

	ret = kstrtobool_from_user(ubuf, count, &block);
	if (ret)
		return ret;

	mutex_lock(&klp_bench_lock);
	klp_bench_stop_blocker();
	if (block) {
		klp_bench_release(false);
		task = kthread_run(klp_bench_blocker_thread, NULL, "klp_bench_blocker");
		if (IS_ERR(task)) {
			ret = PTR_ERR(task);
		} else {
			unsigned int waited;

			get_task_struct(task);
			klp_bench_blocker_task = task;
			/* A transition started before it is in there would not wait for it. */
			for (waited = 0; !klp_bench_blocked() && waited < 5000; waited++)
				msleep(1);
			if (!klp_bench_blocked())
				ret = -ETIMEDOUT;
		}
	}
	mutex_unlock(&klp_bench_lock);
	return ret ? ret : count;
}

static ssize_t klp_bench_align_write(struct file *file, const char __user *ubuf,
				     size_t count, loff_t *ppos)
{
	unsigned long phase, now;
	unsigned int ms;
	int ret;

	ret = kstrtouint_from_user(ubuf, count, 10, &ms);
	if (ret)
		return ret;
	if (ms >= MSEC_PER_SEC)
		return -EINVAL;
	phase = msecs_to_jiffies(ms);
	now = jiffies;
	/* As round_jiffies() sees it: the position of jiffies within its second. */
	schedule_timeout_interruptible((phase + HZ - now % HZ) % HZ ?: HZ);
	return count;
}

static ssize_t klp_bench_nops_read(struct file *file, char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	char buf[16];
	int len;

	len = scnprintf(buf, sizeof(buf), "%d\n", klp_bench_call_nops());
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations klp_bench_calls_fops = {
	.owner = THIS_MODULE,
	.read = klp_bench_calls_read,
	.write = klp_bench_calls_write,
};

static const struct file_operations klp_bench_tasks_fops = {
	.owner = THIS_MODULE,
	.read = klp_bench_tasks_read,
	.write = klp_bench_tasks_write,
};

static const struct file_operations klp_bench_blocker_fops = {
	.owner = THIS_MODULE,
	.write = klp_bench_blocker_write,
};

static const struct file_operations klp_bench_align_fops = {
	.owner = THIS_MODULE,
	.write = klp_bench_align_write,
};

static const struct file_operations klp_bench_nops_fops = {
	.owner = THIS_MODULE,
	.read = klp_bench_nops_read,
};

static int __init klp_bench_init(void)
{
	klp_bench_dir = debugfs_create_dir("klp_bench", NULL);
	debugfs_create_file("calls", 0600, klp_bench_dir, NULL, &klp_bench_calls_fops);
	debugfs_create_file("tasks", 0600, klp_bench_dir, NULL, &klp_bench_tasks_fops);
	debugfs_create_file("blocker", 0200, klp_bench_dir, NULL, &klp_bench_blocker_fops);
	debugfs_create_file("align", 0200, klp_bench_dir, NULL, &klp_bench_align_fops);
	debugfs_create_file("nops", 0400, klp_bench_dir, NULL, &klp_bench_nops_fops);
	return 0;
}

static void __exit klp_bench_exit(void)
{
	debugfs_remove_recursive(klp_bench_dir);
	mutex_lock(&klp_bench_lock);
	klp_bench_stop_tasks();
	klp_bench_stop_blocker();
	mutex_unlock(&klp_bench_lock);
}

module_init(klp_bench_init);
module_exit(klp_bench_exit);
MODULE_DESCRIPTION("klp-rs benchmark harness (debugfs: /sys/kernel/debug/klp_bench)");
MODULE_LICENSE("GPL");
