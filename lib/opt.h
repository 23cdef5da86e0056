/* opt: the command-line rules every tool shares. A tool collects the raw
 * option strings while getopt_long runs and reads no environment before it
 * ends, so -h, -V and a good option work whatever the environment holds.
 * Then, per option:
 *   v = opt_pick("--count", count_arg, "CASINO_GEN_COUNT", NULL, &src);
 *   n = opt_number(src, v, 0, LLONG_MAX);
 * The option wins over the variable; a bad value is blamed on its source.
 * opt_number, opt_real and opt_usage_error exit 64 (EX_USAGE), for main and
 * option parsing only; log_init must have run first. */
#ifndef CASINO_OPT_H
#define CASINO_OPT_H

/* The value to use: optval when the option was given, else the environment
 * variable env when set and non-empty, else fallback (may be NULL). *source
 * names where it came from, for messages: the option's long name
 * ("--max-age"), the variable's name ("CASINO_FX_MAX_AGE"), or "default". */
const char *opt_pick(const char *option, const char *optval, const char *env,
	const char *fallback, const char **source);
/* The environment variable name when set and non-empty, else fallback. */
const char *opt_env(const char *name, const char *fallback);
/* Strict: the whole string, decimal digits only (a leading '-' only where
 * min < 0), no spaces, no hex, no '+', within [min, max]. A bad value logs
 * an error naming source and value and exits 64. */
long long opt_number(const char *source, const char *value, long long min, long long max);
/* Strict like opt_number, with an optional fraction: digits[.digits]. */
double opt_real(const char *source, const char *value, double min, double max);
/* Logs that value of source is not one of allowed (space-separated) and
 * exits 64; returns the index of value in allowed otherwise. */
int opt_choice(const char *source, const char *value, const char *allowed);
_Noreturn void opt_version(void);
/* After getopt: exits 64 with the usage line when operands are left over
 * (more than max_operands) or a CASINO_LOG_* variable is bad. */
void opt_done(int argc, char **argv, int max_operands, const char *usage);
/* Prints "usage: ..." (the given text) to stderr, exits 64. */
_Noreturn void opt_usage_error(const char *usage);

#endif
