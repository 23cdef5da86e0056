#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "opt.h"

const char *
opt_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

const char *
opt_pick(const char *option, const char *optval, const char *env,
    const char *fallback, const char **source)
{
	const char *v;

	if (optval != NULL) {
		*source = option;
		return optval;
	}
	if (env != NULL && (v = opt_env(env, NULL)) != NULL) {
		*source = env;
		return v;
	}
	*source = "default";
	return fallback;
}

/* Length of the run of decimal digits at s. */
static size_t
digits(const char *s)
{
	return strspn(s, "0123456789");
}

long long
opt_number(const char *source, const char *value, long long min, long long max)
{
	const char *p = value + (min < 0 && *value == '-');
	char *end;
	long long v = 0;

	errno = 0;
	if (digits(p) > 0 && p[digits(p)] == '\0')
		v = strtoll(value, &end, 10);
	else
		errno = EINVAL;
	if (errno != 0 || v < min || v > max)
		die(EX_USAGE, "bad option value", LOG_STR("option", source),
		    LOG_STR("value", value), LOG_INT("min", min), LOG_INT("max", max));
	return v;
}

double
opt_real(const char *source, const char *value, double min, double max)
{
	const char *p = value + (min < 0 && *value == '-');
	size_t n = digits(p);
	char *end;
	double v = 0;

	if (n > 0 && p[n] == '.' && digits(p + n + 1) > 0)
		n += 1 + digits(p + n + 1);
	errno = 0;
	if (n > 0 && p[n] == '\0')
		v = strtod(value, &end);
	else
		errno = EINVAL;
	if (errno != 0 || !isfinite(v) || v < min || v > max)
		die(EX_USAGE, "bad option value", LOG_STR("option", source),
		    LOG_STR("value", value), LOG_NUM("min", min), LOG_NUM("max", max));
	return v;
}

int
opt_choice(const char *source, const char *value, const char *allowed)
{
	size_t len = strlen(value);
	int i = 0;

	for (const char *p = allowed; len > 0 && *p != '\0'; i++) {
		size_t n = strcspn(p, " ");
		if (n == len && strncmp(p, value, n) == 0)
			return i;
		p += n + (p[n] == ' ');
	}
	die(EX_USAGE, "bad option value", LOG_STR("option", source),
	    LOG_STR("value", value), LOG_STR("allowed", allowed));
}

_Noreturn void
opt_version(void)
{
	printf("%s %s\n", log_tool(), CASINO_VERSION);
	exit(0);
}

void
opt_done(int argc, char **argv, int max_operands, const char *usage)
{
	if (argc - optind > max_operands) {
		log_error("unexpected operand", LOG_STR("operand", argv[optind + max_operands]));
		opt_usage_error(usage);
	}
	if (log_env_error() != 0)
		opt_usage_error(usage);
}

_Noreturn void
opt_usage_error(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	exit(EX_USAGE);
}
