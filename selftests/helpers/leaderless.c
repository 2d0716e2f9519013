// SPDX-License-Identifier: GPL-2.0
/*
 * A process whose thread-group leader has exited while another thread lives
 * on, in a given cgroup v2 (selftests/test-real-fix.sh, the reproducer of
 * the bug samples/livepatch_cgroup_kill fixes).
 *
 *   leaderless CGROUP_DIR
 *
 * It moves itself into CGROUP_DIR (cgroup.procs), starts a thread that
 * sleeps for ever, and its main thread, the thread-group leader, exits alone
 * with exit(2), not exit_group(2): the leader stays a zombie until the last
 * thread exits, and the process (the pid printed, the caller's child) lives
 * on in the cgroup. Built for the guests of each kernel line by
 * scripts/build/modules.sh, into build/LINE/bin/.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	char path[4096], buf[32];
	pthread_t thread;
	int fd, len, err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CGROUP_DIR\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", argv[1]);
	fd = open(path, O_WRONLY);
	len = snprintf(buf, sizeof(buf), "%d\n", getpid());
	if (fd < 0 || write(fd, buf, len) != len) {
		perror(path);
		return 1;
	}
	close(fd);
	err = pthread_create(&thread, NULL, sleeper, NULL);
	if (err) {
		fprintf(stderr, "pthread_create: %s\n", strerror(err));
		return 1;
	}
	printf("pid %d: the leader exits, a thread lives on\n", getpid());
	fflush(stdout);
	/* exit(2) of the calling thread only: the raw system call, as glibc's
	 * _exit() and exit() are exit_group(2) */
	syscall(SYS_exit, 0);
	return 1;
}
