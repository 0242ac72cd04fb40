/* PLACEHOLDER until the check issue lands: replaced by the real subcommand. */
#include "cli.h"

int cmd_check(int argc, char **argv, const cli_ctx *ctx)
{
	(void)argc; (void)argv; (void)ctx;
	cli_error("'check' is not implemented yet");
	return CLI_EXIT_RUNTIME;
}
