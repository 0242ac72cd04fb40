/* PLACEHOLDER until the ignore issue lands: replaced by the real subcommand. */
#include "cli.h"

int cmd_ignore(int argc, char **argv, const cli_ctx *ctx)
{
	(void)argc; (void)argv; (void)ctx;
	cli_error("'ignore' is not implemented yet");
	return CLI_EXIT_RUNTIME;
}
