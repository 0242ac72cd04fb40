/*
 * suggest.h - "did you mean ...?" for a mistyped command or long option, by git's rule
 * (help.c: a weighted Damerau-Levenshtein cost, and prefixes first).
 */
#ifndef PYC_CLI_SUGGEST_H
#define PYC_CLI_SUGGEST_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* The names suggestion picks from are ours and short; longer ones are never suggested. */
#define CLI_SUGGEST_MAX_NAME 63

/*
 * The cost of editing TYPED into CAND with git's weights: a swap of two neighbours 0,
 * a substitution 2, an insertion 1, a deletion 3 (a missing letter is a likelier typo
 * than an extra one). -1 when CAND is longer than CLI_SUGGEST_MAX_NAME.
 */
int cli_edit_cost(const char *typed, const char *cand);

/*
 * Marks in pick[0..n-1] the names to suggest for TYPED and returns how many:
 * the names TYPED is a prefix of, if there are some but not all (an empty TYPED is a
 * prefix of all: nothing to say); otherwise the names of
 * least cost when that cost + 1 is below 7 (git's SIMILARITY_FLOOR); otherwise none.
 */
size_t cli_similar(const char *typed, const char *const *names, size_t n, bool *pick);

/*
 * "" or "; did you mean 'status'?" ("'a', 'b' or 'c'") for TYPED among NAMES, each
 * quoted after LEAD ("--" for options). The text lives in a static buffer until the
 * next call: pass it straight to cli_usage_error.
 */
const char *cli_suggest(const char *typed, const char *const *names, size_t n, const char *lead);

/*
 * The same for a long option getopt_long rejected, ARG being its argv word
 * ("--tga" or "--tga=x"); "" when ARG is not a long option.
 */
const char *cli_suggest_option(const char *arg, const struct option *longopts);

/*
 * NULL when TAG can be a cache tag (sys.implementation.cache_tag: cpython-312, pypy39);
 * else the hint for the usage error: "; did you mean 'cpython-312'?" when TAG is a CPython
 * version written another way (312, 3.12, cpython312, py312), or "". The text lives in
 * the same static buffer as cli_suggest's.
 */
const char *cli_suggest_tag(const char *tag);

#endif
