/*
 * cli.h - what every subcommand shares: exit codes, the context main() builds, the
 * subcommand entry points and the message helpers. Subcommands live in cmd_<name>.c;
 * rendering helpers in out.c.
 */
#ifndef PYC_CLI_H
#define PYC_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>

/* Exit codes, documented once in docs/cli.md. */
enum cli_exit {
	CLI_EXIT_OK = 0,        /* all well / all fresh / nothing found */
	CLI_EXIT_FINDINGS = 1,  /* the command's answer is "no": stale caches, bytecode staged,
	                           compile errors */
	CLI_EXIT_USAGE = 2,     /* bad command line */
	CLI_EXIT_RUNTIME = 3,   /* a path could not be read, removed or written */
};

typedef struct cli_ctx {
	const char *progname;   /* "pyc-tool" */
	bool stdout_tty;
	bool stderr_tty;
	bool color;             /* stdout is a TTY and NO_COLOR is unset or empty */
} cli_ctx;

typedef int (*cli_cmd_fn)(int argc, char **argv, const cli_ctx *ctx);

int cmd_status(int argc, char **argv, const cli_ctx *ctx);
int cmd_inspect(int argc, char **argv, const cli_ctx *ctx);
int cmd_compile(int argc, char **argv, const cli_ctx *ctx);
int cmd_clean(int argc, char **argv, const cli_ctx *ctx);
int cmd_ignore(int argc, char **argv, const cli_ctx *ctx);
int cmd_check(int argc, char **argv, const cli_ctx *ctx);
int cmd_hook(int argc, char **argv, const cli_ctx *ctx);
int cmd_importtime(int argc, char **argv, const cli_ctx *ctx);
int cmd_cache(int argc, char **argv, const cli_ctx *ctx);

/* "pyc-tool: error: <msg>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "pyc-tool: warning: <msg>" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "pyc-tool CMD: <msg>" plus a --help hint on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a decimal int in [lo, hi]; returns 0 or -1 (no message printed). */
int cli_parse_int(const char *s, long lo, long hi, long *out);

/* Flush stdout and report a write error (e.g. a closed pipe); returns rc or 3. */
int cli_finish_stdout(int rc);

#endif
