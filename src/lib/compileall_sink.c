/*
 * compileall_sink.c - the pipeline's output end: the caller's events, the counters, and
 * the run's fatal error (which stops the walk). Every stage reports here; none reports
 * through another.
 */
#include "compileall_internal.h"

void pyc_compileall__emit(ca_sink *s, pyc_compileall_event *ev)
{
	if (s->on_event)
		s->on_event(ev, s->ctx);
}

void pyc_compileall__fail(ca_sink *s, const char *path, const char *kind, const char *text)
{
	pyc_compileall_event ev = { .kind = PYC_COMPILEALL_FAILED, .path = path,
	                            .error_kind = kind, .error_text = text };
	s->st->failed++;
	pyc_compileall__emit(s, &ev);
}

int pyc_compileall__stop(ca_sink *s, int rc)
{
	if (rc < 0 && s->fatal == 0)
		s->fatal = rc;
	s->stop = true;
	return rc;
}
