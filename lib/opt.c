#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

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
	if ((v = opt_env(env, NULL)) != NULL) {
		*source = env;
		return v;
	}
	*source = "default";
	return fallback;
}

long long
opt_number(const char *option, const char *value, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (*value == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		die(EX_USAGE, "bad option value", LOG_STR("option", option),
		    LOG_STR("value", value), LOG_INT("min", min), LOG_INT("max", max));
	return v;
}

double
opt_real(const char *option, const char *value, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (*value == '\0' || *end != '\0' || errno != 0 || !isfinite(v) ||
	    v < min || v > max)
		die(EX_USAGE, "bad option value", LOG_STR("option", option),
		    LOG_STR("value", value), LOG_NUM("min", min), LOG_NUM("max", max));
	return v;
}

void
opt_version(void)
{
	printf("%s %s\n", log_tool(), CASINO_VERSION);
	exit(0);
}

void
opt_usage_error(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	exit(EX_USAGE);
}
