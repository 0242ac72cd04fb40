/*
 * cli.h - what every subcommand shares: exit codes, the context main() builds, the
 * subcommand entry points and the message helpers. Subcommands live in cmd_<name>.c;
 * rendering helpers in out.c.
 */
#ifndef PYC_CLI_H
#define PYC_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>

/* Exit codes, one per condition for every command: the table in docs/cli.md. */
enum cli_exit {
	CLI_EXIT_OK = 0,        /* all well / all fresh / nothing found */
	CLI_EXIT_FINDINGS = 1,  /* the command's answer is "no": stale caches, bytecode staged,
	                           a file failed to compile */
	CLI_EXIT_USAGE = 2,     /* bad command line */
	CLI_EXIT_RUNTIME = 3,   /* a given path is missing or unreadable; a path could not be
	                           read, removed or written; an interpreter cannot be used */
};

/* --color WHEN; AUTO decides from the environment and the terminal (cli_color_set). */
enum cli_color { CLI_COLOR_AUTO, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER };

typedef struct cli_ctx {
	const char *progname;   /* "pyc-tool" */
	bool stdout_tty;
	bool stderr_tty;
	bool color;             /* colour on stdout (cli_color_set) */
} cli_ctx;

typedef int (*cli_cmd_fn)(int argc, char **argv, cli_ctx *ctx);

int cmd_status(int argc, char **argv, cli_ctx *ctx);
int cmd_inspect(int argc, char **argv, cli_ctx *ctx);
int cmd_compile(int argc, char **argv, cli_ctx *ctx);
int cmd_clean(int argc, char **argv, cli_ctx *ctx);
int cmd_ignore(int argc, char **argv, cli_ctx *ctx);
int cmd_check(int argc, char **argv, cli_ctx *ctx);
int cmd_hook(int argc, char **argv, cli_ctx *ctx);
int cmd_importtime(int argc, char **argv, cli_ctx *ctx);
int cmd_cache(int argc, char **argv, cli_ctx *ctx);

/*
 * Diagnostics, one format for usage and runtime errors (docs/cli.md):
 *   pyc-tool <command>: error: <what>
 *   hint: <what to do>
 * "<command>" is the one main() dispatched to (cli_set_command); "pyc-tool: " before.
 */
void cli_set_command(const char *cmd);
/* "pyc-tool CMD: error: <msg>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "pyc-tool CMD: warning: <msg>" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "hint: <msg>" on stderr, after an error. */
void cli_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Starts a diagnostic of KIND ("error", "warning") whose text the caller writes (a name
 * through out_human_path, say) and ends with '\n'; returns stderr. */
FILE *cli_diag_begin(const char *kind);
/* The error of an interpreter that cannot be used: the first line of err's message as
 * the error, then the rest (the end of the interpreter's stderr, pyc/interp.h) indented
 * below it, so the cause shows whichever line it is on. */
struct pyc_error;
void cli_interp_error(const struct pyc_error *err);
/* A usage error: the error line, then a hint naming CMD's --help (CMD NULL: the tool's);
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Colour. Precedence, highest first: --color always|never; NO_COLOR (non-empty: off);
 * FORCE_COLOR (non-empty) or CLICOLOR_FORCE (non-empty, not "0"): on; TERM=dumb: off;
 * else on for a stream that is a terminal. Sets ctx->color (stdout) and the colour of
 * the diagnostic prefixes (stderr). --json output never has colour.
 */
void cli_color_set(cli_ctx *ctx, enum cli_color when);

/* Options every command takes: --color WHEN and -V/--version (besides -h/--help). Put
 * CLI_COMMON_LONGOPTS in the command's long option table, CLI_COMMON_SHORTOPTS in its
 * short option string and CLI_COMMON_HELP in its --help. */
#define CLI_OPT_COLOR 0x4000
#define CLI_COMMON_LONGOPTS \
	{ "color", required_argument, NULL, CLI_OPT_COLOR }, \
	{ "version", no_argument, NULL, 'V' }
#define CLI_COMMON_SHORTOPTS "V"
#define CLI_COMMON_HELP \
	"  --color WHEN        colour: auto (on a terminal; the default), always, never\n" \
	"  -V, --version       show the version and exit\n" \
	"  -h, --help          show this help\n"
/* cli_common_option's answer for an option that is not a common one. */
#define CLI_NOT_COMMON (-2)
/*
 * Handle getopt_long's answer C when it is a common option or an error: -1 to go on
 * (--color), CLI_EXIT_OK after --version, CLI_EXIT_USAGE after a usage error ('?' or
 * ':' from getopt, a bad --color value), CLI_NOT_COMMON for the command's own options.
 */
int cli_common_option(cli_ctx *ctx, const char *cmd, int c, char **argv,
                      const struct option *longopts);

/* A failure that does not stop the command: "pyc-tool CMD: error: MESSAGE" on stderr and,
 * with json, the error record for PATH on stdout first. */
void cli_error_at(bool json, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 0 when the operand PATH exists; else -1 after "cannot access 'PATH': <reason>" (on
 * stderr, and as an error record on stdout with `json`), which every command answers with
 * CLI_EXIT_RUNTIME, going on with its other operands. */
int cli_check_operand(const char *path, bool json);

/* Parse a decimal int in [lo, hi]; returns 0 or -1 (no message printed). */
int cli_parse_int(const char *s, long lo, long hi, long *out);

/* Flush stdout and report a write error (e.g. a closed pipe); returns rc or 3. */
int cli_finish_stdout(int rc);

#endif
