/* Error records: see include/pyc/common.h. */
#include "pyc/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int pyc_error_set(pyc_error *err, int code, int sys_errno, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	err->sys_errno = sys_errno;

	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n < 0) {
		err->message[0] = '\0';
		n = 0;
	}

	size_t used = (size_t)n < sizeof(err->message) ? (size_t)n : sizeof(err->message) - 1;
	if (sys_errno && used < sizeof(err->message) - 1) {
		int m = snprintf(err->message + used, sizeof(err->message) - used, ": %s",
		                 strerror(sys_errno));
		if (m > 0)
			used += (size_t)m;
	}
	/* A cut message must say so rather than end mid-word silently. */
	if (used >= sizeof(err->message) - 1)
		memcpy(err->message + sizeof(err->message) - 4, "...", 4);
	return code;
}

void pyc_error_clear(pyc_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->sys_errno = 0;
	err->message[0] = '\0';
}

const char *pyc_code_name(int code)
{
	switch (code) {
	case PYC_OK: return "ok";
	case PYC_EIO: return "io";
	case PYC_ENOMEM: return "out of memory";
	case PYC_ENOTFOUND: return "not found";
	case PYC_ETRUNCATED: return "truncated";
	case PYC_EBADMAGIC: return "unknown magic";
	case PYC_EBADFLAGS: return "bad flags";
	case PYC_EINVAL: return "invalid";
	case PYC_EUNSUPPORTED: return "unsupported";
	case PYC_EGIT: return "git";
	case PYC_ELOCKED: return "locked";
	case PYC_EEXISTS: return "exists";
	case PYC_ECOMPILE: return "compile error";
	case PYC_EINTERP: return "interpreter";
	case PYC_ETIMEOUT: return "timeout";
	case PYC_EUNSAFE: return "unsafe path";
	default: return "unknown error";
	}
}

const char *pyc_version(void);
const char *pyc_version(void)
{
	return PYC_VERSION;
}
