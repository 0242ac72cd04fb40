/* Message helpers and small parsers shared by the subcommands (cli.h). */
#include "cli.h"
#include "out.h"
#include "suggest.h"

#include "pyc/pyc.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *cur_cmd;   /* the command main() dispatched to, NULL before */
static bool err_color;        /* colour the diagnostic prefixes on stderr */

void cli_set_command(const char *cmd)
{
	cur_cmd = cmd;
}

FILE *cli_diag_begin(const char *kind)
{
	const char *on = "", *off = "";
	if (err_color) {
		on = strcmp(kind, "error") == 0 ? "\033[1;31m" : "\033[1;33m";
		off = "\033[0m";
	}
	fflush(stdout);   /* so that stdout and stderr interleave in order on one terminal */
	fprintf(stderr, "pyc-tool%s%s: %s%s:%s ", cur_cmd ? " " : "", cur_cmd ? cur_cmd : "", on,
	        kind, off);
	return stderr;
}

static void vmsg(const char *kind, const char *fmt, va_list ap)
{
	FILE *f = cli_diag_begin(kind);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("error", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("warning", fmt, ap);
	va_end(ap);
}

void cli_hint(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%shint:%s ", err_color ? "\033[1m" : "", err_color ? "\033[0m" : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cli_interp_error(const pyc_error *err)
{
	const char *m = err->message[0] ? err->message : "cannot run the interpreter";
	const char *nl = strchr(m, '\n');
	if (!nl) {
		cli_error("%s", m);
		return;
	}
	cli_error("%.*s; its standard error ends with:", (int)(nl - m), m);
	while (nl) {
		const char *line = nl + 1;
		nl = strchr(line, '\n');
		char *copy = strndup(line, nl ? (size_t)(nl - line) : strlen(line));
		if (copy && *copy) {
			fputs("  ", stderr);
			out_human_path(stderr, copy);
		}
		fputc('\n', stderr);
		free(copy);
	}
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("error", fmt, ap);
	va_end(ap);
	cli_hint("see 'pyc-tool %s%s--help'", cmd ? cmd : "", cmd ? " " : "");
	return CLI_EXIT_USAGE;
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v;
}

/* no-color.org: NO_COLOR non-empty turns colour off; force-color.org: FORCE_COLOR
 * non-empty turns it on, as CLICOLOR_FORCE other than "0" does (bixense.com/clicolors).
 * NO_COLOR wins over both, as in uv; only an explicit --color beats it. */
static bool color_for(enum cli_color when, bool tty)
{
	if (when != CLI_COLOR_AUTO)
		return when == CLI_COLOR_ALWAYS;
	if (env_set("NO_COLOR"))
		return false;
	const char *cf = getenv("CLICOLOR_FORCE");
	if (env_set("FORCE_COLOR") || (cf && *cf && strcmp(cf, "0") != 0))
		return true;
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return tty;
}

void cli_color_set(cli_ctx *ctx, enum cli_color when)
{
	ctx->color = color_for(when, ctx->stdout_tty);
	err_color = color_for(when, ctx->stderr_tty);
}

int cli_common_option(cli_ctx *ctx, const char *cmd, int c, char **argv,
                      const struct option *longopts)
{
	static const char *const whens[] = { "auto", "always", "never" };
	switch (c) {
	case CLI_OPT_COLOR:
		for (size_t i = 0; i < sizeof(whens) / sizeof(whens[0]); i++) {
			if (strcmp(optarg, whens[i]) == 0) {
				cli_color_set(ctx, (enum cli_color)i);
				return -1;
			}
		}
		return cli_usage_error(cmd, "invalid --color '%s' (choose from 'auto', 'always', "
		                       "'never')", optarg);
	case 'V':
		printf("pyc-tool %s\n", pyc_version());
		return cli_finish_stdout(CLI_EXIT_OK);
	case ':':
		return cli_usage_error(cmd, "option '%s' needs an argument", argv[optind - 1]);
	case '?':
		return cli_usage_error(cmd, "unknown option '%s'%s", argv[optind - 1],
		                       cli_suggest_option(argv[optind - 1], longopts));
	default:
		return CLI_NOT_COMMON;
	}
}

void cli_error_at(bool json, const char *path, const char *fmt, ...)
{
	pyc_buf msg = PYC_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = pyc_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	const char *text = rc == 0 ? pyc_buf_cstr(&msg) : "out of memory";
	if (json)
		out_json_error(stdout, path, text);
	cli_error("%s", text);
	pyc_buf_dispose(&msg);
}

int cli_check_operand(const char *path, bool json)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return 0;
	cli_error_at(json, path, "cannot access '%s': %s", path, strerror(errno));
	return -1;
}

int cli_parse_int(const char *s, long lo, long hi, long *out)
{
	if (!s || !*s)
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int cli_finish_stdout(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			cli_error("cannot write to standard output: %s", strerror(errno));
		return rc ? rc : CLI_EXIT_RUNTIME;
	}
	return rc;
}
