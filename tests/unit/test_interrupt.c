/*
 * test_interrupt.c - the registry a signal handler empties: registered temporary files are
 * unlinked and registered workers killed, forgotten ones are left alone, and it works from a
 * real signal handler, as compile's does.
 */
#include "testutil.h"

#include "interrupt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool exists(const char *dir, const char *rel)
{
	struct stat st;
	return lstat(tu_path(dir, rel), &st) == 0;
}

static pid_t sleeper(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void test_cleanup_unlinks_armed_temps_only(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	int dfd = open(d, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	tu_write_str(d, "a.pyc.1.0.tmp", "x");
	tu_write_str(d, "b.pyc.1.1.tmp", "x");
	int a = pyc_interrupt__note_temp(dfd, "a.pyc.1.0.tmp");
	int b = pyc_interrupt__note_temp(dfd, "b.pyc.1.1.tmp");
	assert_true(a >= 0 && b >= 0 && a != b);
	pyc_interrupt__forget(b);   /* renamed into place: no longer ours to remove */
	errno = EDOM;
	pyc_interrupt_cleanup();
	assert_int_equal(errno, EDOM);
	assert_false(exists(d, "a.pyc.1.0.tmp"));
	assert_true(exists(d, "b.pyc.1.1.tmp"));
	pyc_interrupt__forget(a);
	pyc_interrupt__forget(-1);   /* "no slot" is accepted */
	close(dfd);
	tu_rm_rf(d);
	free(d);
}

static void test_slots_run_out_and_come_back(void **state)
{
	(void)state;
	int slots[64], n = 0;
	while (n < 64 && (slots[n] = pyc_interrupt__note_temp(-1, "x")) >= 0)
		n++;
	assert_true(n > 0 && n < 64);   /* a fixed table: it fills up */
	pyc_interrupt__forget(slots[0]);
	assert_int_equal(pyc_interrupt__note_temp(-1, "y"), slots[0]);
	for (int i = 0; i < n; i++)
		pyc_interrupt__forget(slots[i]);
	char longname[NAME_MAX + 2];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(pyc_interrupt__note_temp(-1, longname), -1);
}

static void test_cleanup_kills_registered_workers(void **state)
{
	(void)state;
	pid_t kept = sleeper(), killed = sleeper();
	pyc_interrupt__note_pid(kept);
	pyc_interrupt__note_pid(killed);
	pyc_interrupt__forget_pid(kept);
	pyc_interrupt_cleanup();
	int st;
	assert_int_equal(waitpid(killed, &st, 0), killed);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	pyc_interrupt__forget_pid(killed);
	assert_int_equal(waitpid(kept, &st, WNOHANG), 0);   /* still running */
	kill(kept, SIGTERM);
	assert_int_equal(waitpid(kept, &st, 0), kept);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
}

static void on_signal(int sig)
{
	pyc_interrupt_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The way compile uses it: the handler runs in a process that is then killed by the
 * signal, and the temporary file it had in flight is gone afterwards. */
static void test_from_a_signal_handler(void **state)
{
	(void)state;
	char *d = tu_mkdtemp();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int dfd = open(d, O_RDONLY | O_DIRECTORY);
		int fd = openat(dfd, "m.pyc.9.0.tmp", O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (dfd < 0 || fd < 0 || pyc_interrupt__note_temp(dfd, "m.pyc.9.0.tmp") < 0)
			_exit(2);
		signal(SIGTERM, on_signal);
		raise(SIGTERM);
		_exit(3);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	assert_false(exists(d, "m.pyc.9.0.tmp"));
	tu_rm_rf(d);
	free(d);
}

static void test_block_all_masks_signals(void **state)
{
	(void)state;
	sigset_t old, now;
	pyc_interrupt__block_all(&old);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &now), 0);
	assert_true(sigismember(&now, SIGINT) && sigismember(&now, SIGTERM) &&
	            sigismember(&now, SIGHUP));
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &now), 0);
	assert_false(sigismember(&now, SIGTERM));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cleanup_unlinks_armed_temps_only),
		cmocka_unit_test(test_slots_run_out_and_come_back),
		cmocka_unit_test(test_cleanup_kills_registered_workers),
		cmocka_unit_test(test_from_a_signal_handler),
		cmocka_unit_test(test_block_all_masks_signals),
	};
	return tu_run_tests("interrupt", tests);
}
