/* Child processes with pipes and no shell: see proc_internal.h. */
#include "proc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Move fd to 10 or above, close-on-exec: the child's dup2() onto 0..3 must never be a
 * dup2(n, n), which would leave FD_CLOEXEC set on some libcs.
 */
static int raise_fd(int *fd)
{
	if (*fd >= 10)
		return 0;
	int moved = fcntl(*fd, F_DUPFD_CLOEXEC, 10);
	if (moved < 0)
		return -1;
	close(*fd);
	*fd = moved;
	return 0;
}

static int make_pipe(int ends[2])
{
	if (pipe2(ends, O_CLOEXEC) != 0)
		return -1;
	if (raise_fd(&ends[0]) != 0 || raise_fd(&ends[1]) != 0) {
		close_fd(&ends[0]);
		close_fd(&ends[1]);
		return -1;
	}
	return 0;
}

/* Create the channels flags asks for; child[] gets the child's ends, p the parent's. */
static int open_channels(pyc_proc *p, int child[4], unsigned flags)
{
	int ends[2];

	if (flags & PYC_PROC_STDIN) {
		if (make_pipe(ends) != 0)
			return -1;
		child[0] = ends[0];
		p->in = ends[1];
	}
	if (flags & PYC_PROC_STDOUT) {
		if (make_pipe(ends) != 0)
			return -1;
		child[1] = ends[1];
		p->out = ends[0];
	}
	if (flags & PYC_PROC_STDERR) {
		if (make_pipe(ends) != 0)
			return -1;
		child[2] = ends[1];
		p->err = ends[0];
	}
	if (flags & PYC_PROC_SOCK3) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
			return -1;
		if (raise_fd(&ends[0]) != 0 || raise_fd(&ends[1]) != 0) {
			close_fd(&ends[0]);
			close_fd(&ends[1]);
			return -1;
		}
		child[3] = ends[1];
		p->sock = ends[0];
	}
	return 0;
}

static int plan_actions(posix_spawn_file_actions_t *fa, const int child[4], unsigned flags)
{
	int rc = 0;

	if (child[0] >= 0)
		rc |= posix_spawn_file_actions_adddup2(fa, child[0], 0);
	else
		rc |= posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
	if (child[1] >= 0)
		rc |= posix_spawn_file_actions_adddup2(fa, child[1], 1);
	else if (flags & PYC_PROC_NULLOUT)
		rc |= posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
	if (child[2] >= 0)
		rc |= posix_spawn_file_actions_adddup2(fa, child[2], 2);
	if (child[3] >= 0)
		rc |= posix_spawn_file_actions_adddup2(fa, child[3], 3);
	return rc;
}

static int plan_attrs(posix_spawnattr_t *at)
{
	sigset_t none, dfl;

	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	int rc = posix_spawnattr_setsigmask(at, &none);
	rc |= posix_spawnattr_setsigdefault(at, &dfl);
	rc |= posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	return rc;
}

int pyc_proc__spawn(pyc_proc *p, char *const argv[], char *const envp[], unsigned flags,
                   pyc_error *err)
{
	int child[4] = { -1, -1, -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc = PYC_EINTERP;

	p->pid = -1;
	p->in = p->out = p->err = p->sock = -1;
	if (open_channels(p, child, flags) != 0) {
		pyc_error_set(err, PYC_EINTERP, errno, "cannot run '%s'", argv[0]);
		goto fail;
	}
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto fail_errno;
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto fail_errno;
	}
	int e = plan_actions(&fa, child, flags) || plan_attrs(&at) ? ENOMEM : 0;
	if (!e)
		e = posix_spawnp(&p->pid, argv[0], &fa, &at, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (e) {
		p->pid = -1;
		pyc_error_set(err, PYC_EINTERP, e, "cannot run '%s'", argv[0]);
		goto fail;
	}
	rc = 0;
	goto done;
fail_errno:
	pyc_error_set(err, PYC_EINTERP, errno, "cannot run '%s'", argv[0]);
fail:
	pyc_proc__close(p);
done:
	for (int i = 0; i < 4; i++)
		close_fd(&child[i]);
	return rc;
}

void pyc_proc__close(pyc_proc *p)
{
	close_fd(&p->in);
	close_fd(&p->out);
	close_fd(&p->err);
	close_fd(&p->sock);
}

int pyc_proc__wait(pyc_proc *p)
{
	int status;

	if (p->pid <= 0)
		return -1;
	while (waitpid(p->pid, &status, 0) < 0) {
		if (errno != EINTR) {
			p->pid = -1;
			return -1;
		}
	}
	p->pid = -1;
	return status;
}

double pyc_proc__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
