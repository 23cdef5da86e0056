/* opt: option helpers shared by every tool. Each tool defines usage() and
 * calls these; they exit 64 (EX_USAGE) with a log record naming the bad value.
 *   opt_env("CASINO_FX_URL", NULL) - the environment default for an option
 *   opt_number("--count", s, 0, LLONG_MAX) - a strictly parsed integer
 *   opt_version() - prints "casino-X VERSION" and exits 0 */
#ifndef CASINO_OPT_H
#define CASINO_OPT_H

const char *opt_env(const char *name, const char *fallback);
/* The value to use: optval when the option was given, else the environment
 * variable env when set and non-empty, else fallback (may be NULL). *source
 * names where it came from, for messages: the option's long name
 * ("--max-age"), the variable's name ("CASINO_FX_MAX_AGE"), or "default". */
const char *opt_pick(const char *option, const char *optval, const char *env,
	const char *fallback, const char **source);
long long opt_number(const char *option, const char *value, long long min, long long max);
double opt_real(const char *option, const char *value, double min, double max);
void opt_version(void);
/* Prints "usage: ..." (the given text) to stderr, exits 64. */
void opt_usage_error(const char *usage);

#endif
