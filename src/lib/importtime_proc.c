/* Running one interpreter and capturing what it says (importtime_internal.h). */
#include "importtime_internal.h"
#include "proc_internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void pyc_importtime__outcome_dispose(it_outcome *oc)
{
	pyc_buf_dispose(&oc->out);
	pyc_buf_dispose(&oc->err);
}

/* Read what is there; 0 at EOF (fd closed), 1 when more may come, <0 on failure. */
static int drain(int *fd, pyc_buf *b, pyc_error *err)
{
	if (pyc_buf_grow(b, 65536) < 0)
		return pyc_error_set(err, PYC_ENOMEM, 0, "out of memory");
	ssize_t n = read(*fd, b->ptr + b->len, b->cap - b->len - 1);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n < 0)
		return pyc_error_set(err, PYC_EIO, errno, "cannot read from an interpreter");
	if (n == 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	b->len += (size_t)n;
	b->ptr[b->len] = '\0';
	return 1;
}

/* Both pipes at once: a child blocked writing one must not wait for us reading the other. */
static int read_all(pyc_proc *p, it_outcome *oc, pyc_error *err)
{
	while (p->out >= 0 || p->err >= 0) {
		struct pollfd fds[2] = { { p->out, POLLIN, 0 }, { p->err, POLLIN, 0 } };
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return pyc_error_set(err, PYC_EIO, errno, "cannot wait for an interpreter");
		}
		int rc = 0;
		if (p->out >= 0 && fds[0].revents)
			rc = drain(&p->out, &oc->out, err);
		if (rc >= 0 && p->err >= 0 && fds[1].revents)
			rc = drain(&p->err, &oc->err, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int pyc_importtime__capture(it_outcome *oc, char *const argv[], char *const envp[], bool want_out,
               pyc_error *err)
{
	pyc_proc p;
	unsigned flags = PYC_PROC_STDERR | (want_out ? PYC_PROC_STDOUT : PYC_PROC_NULLOUT);
	pyc_buf_clear(&oc->out);
	pyc_buf_clear(&oc->err);
	double started = pyc_proc__now();
	int rc = pyc_proc__spawn(&p, argv, envp, flags, err);
	if (rc < 0)
		return rc;
	rc = read_all(&p, oc, err);
	pyc_proc__close(&p);
	oc->status = pyc_proc__wait(&p);
	oc->wall_sec = pyc_proc__now() - started;
	return rc;
}

const char *pyc_importtime__after_mark(const pyc_buf *b, size_t *len)
{
	const char *text = pyc_buf_cstr(b);
	const char *mark = strstr(text, IT_MARK "\n");
	const char *from = mark ? mark + sizeof(IT_MARK) : text;
	*len = b->len - (size_t)(from - text);
	return from;
}

int pyc_importtime__child_failed(pyc_error *err, const it_outcome *oc, const char *what)
{
	const char *text = pyc_buf_cstr(&oc->err);
	size_t end = oc->err.len;
	while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r'))
		end--;
	size_t start = end;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	if (start == end && WIFSIGNALED(oc->status))
		return pyc_error_set(err, PYC_EINTERP, 0, "%s: the interpreter was killed by signal %d",
		                     what, WTERMSIG(oc->status));
	if (start == end)
		return pyc_error_set(err, PYC_EINTERP, 0, "%s: the interpreter exited with status %d",
		                     what, WEXITSTATUS(oc->status));
	return pyc_error_set(err, PYC_EINTERP, 0, "%s: %.*s", what, (int)(end - start),
	                     text + start);
}
