#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "opt.h"

static char usage_line[1024]; /* opt_parse's, for every usage error */
static int checking;          /* --check was given */

const char *
opt_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
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

static _Noreturn void
opt_version(void)
{
	printf("%s %s\n", log_tool(), CASINO_VERSION);
	exit(0);
}

_Noreturn void
opt_usage_error(void)
{
	fprintf(stderr, "usage: %s\n", usage_line);
	exit(EX_USAGE);
}


/* The usage line: the name, each option's word, the operands. */
static void
usage_build(const struct opt *opts, size_t n, const char *operands)
{
	struct buf b = { 0 };

	buf_puts(&b, log_tool());
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = &opts[i];
		if (o->synopsis != NULL) {
			if (*o->synopsis != '\0')
				buf_printf(&b, " %s", o->synopsis);
		} else if (o->short_name != 0) {
			buf_printf(&b, " [-%c", o->short_name);
			if (o->arg != NULL)
				buf_printf(&b, " %s", o->arg);
			buf_puts(&b, o->kind == OPT_LIST ? " ...]" : "]");
		}
	}
	if (operands != NULL)
		buf_printf(&b, " %s", operands);
	snprintf(usage_line, sizeof usage_line, "%s", b.data);
	buf_free(&b);
}

const char *
opt_usage(void)
{
	return usage_line;
}

/* One line of -h (more where its help has '\n'), names padded to width;
 * returns the names' length. */
static int
help_line(const struct opt *o, int width)
{
	char names[128];
	int len;

	if (o->long_name == NULL)
		len = snprintf(names, sizeof names, "  %s", o->env);
	else
		len = snprintf(names, sizeof names, "  -%c, --%s%s%s", o->short_name,
		    o->long_name, o->arg ? " " : "", o->arg ? o->arg : "");
	if (width == 0)
		return len;
	printf("%s%*s", names, width - len, "");
	for (const char *h = o->help; *h != '\0'; h++) {
		putchar(*h);
		if (*h == '\n')
			printf("%*s", width, "");
	}
	if (o->long_name != NULL && o->env != NULL)
		printf(" (%s%s", o->env, o->fallback ? "; " : ")");
	else if (o->fallback != NULL)
		printf(" (");
	if (o->fallback != NULL)
		printf("default %s)", o->fallback);
	putchar('\n');
	return len;
}

/* -h: the usage line, the options, -h and -V, then the variables alone. */
static _Noreturn void
help(const struct opt *opts, size_t n)
{
	static const struct opt builtin[] = {
		{ 'h', "help", .kind = OPT_FLAG, .help = "this text" },
		{ 'V', "version", .kind = OPT_FLAG, .help = "the version" },
	};
	const struct opt *order[OPT_MAX + 2];
	size_t k = 0;
	int width = 0;

	for (size_t i = 0; i < n; i++)
		if (opts[i].long_name != NULL)
			order[k++] = &opts[i];
	order[k++] = &builtin[0];
	order[k++] = &builtin[1];
	for (size_t i = 0; i < n; i++)
		if (opts[i].long_name == NULL)
			order[k++] = &opts[i];
	for (size_t i = 0; i < k; i++) {
		int len = help_line(order[i], 0) + 2;
		width = len > width ? len : width;
	}
	printf("usage: %s\n", usage_line);
	for (size_t i = 0; i < k; i++)
		help_line(order[i], width);
	exit(0);
}

/* --options: a line per entry, "-n --count CASINO_GEN_COUNT", '-' for none,
 * then "usage LINE": what the man page lint compares (tests/man-options). */
static _Noreturn void
dump(const struct opt *opts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = &opts[i];
		if (o->short_name != 0)
			printf("-%c", o->short_name);
		else
			putchar('-');
		printf(" %s%s %s\n", o->long_name ? "--" : "-", o->long_name ? o->long_name : "",
		    o->env ? o->env : "-");
	}
	printf("usage %s\n", usage_line);
	exit(0);
}

/* The value of o from its option (optval, NULL when not given), its
 * variable or its default, checked by its kind. */
static void
pick(struct opt *o, const char *optval)
{
	const char *v;

	if (optval != NULL) {
		/* "--count": kept as long as the table, which is static. */
		char *name = xmalloc(strlen(o->long_name) + 3);
		sprintf(name, "--%s", o->long_name);
		o->source = name;
		o->value = optval;
	} else if (o->env != NULL && (v = opt_env(o->env, NULL)) != NULL) {
		o->source = o->env;
		o->value = v;
	} else {
		o->source = "default";
		o->value = o->fallback;
	}
	if (o->value == NULL)
		return;
	switch (o->kind) {
	case OPT_NUMBER: o->number = opt_number(o->source, o->value, o->min, o->max); break;
	case OPT_REAL: o->real = opt_real(o->source, o->value, o->rmin, o->rmax); break;
	case OPT_CHOICE: o->choice = opt_choice(o->source, o->value, o->choices); break;
	case OPT_FLAG: o->on = strcmp(o->value, "0") != 0; break;
	case OPT_STRING: case OPT_LIST: break;
	}
}

void
opt_parse(int argc, char **argv, struct opt *opts, size_t n, const char *operands,
    int max_operands)
{
	struct option *longopts = xcalloc(n + 5, sizeof(*longopts));
	const char **given = xcalloc(n, sizeof(*given));
	char shortopts[2 * OPT_MAX + 3] = "";
	size_t len = 0, nl = 0;
	int c, dump_asked = 0;

	if (n > OPT_MAX)
		die(EX_SOFTWARE, "too many options in the table", LOG_INT("max", OPT_MAX));
	usage_build(opts, n, operands);
	for (size_t i = 0; i < n; i++) {
		struct opt *o = &opts[i];
		int has_arg = o->arg != NULL ? required_argument : no_argument;
		if (o->kind == OPT_LIST)
			o->list = xcalloc((size_t)argc, sizeof(*o->list));
		if (o->long_name == NULL)
			continue;
		/* Each option's getopt value is its index past any char. */
		longopts[nl++] = (struct option){ o->long_name, has_arg, NULL, 256 + (int)i };
		if (o->short_name != 0) {
			shortopts[len++] = (char)o->short_name;
			if (has_arg == required_argument)
				shortopts[len++] = ':';
		}
	}
	strcpy(shortopts + len, "hV");
	longopts[nl++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[nl++] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[nl++] = (struct option){ "options", no_argument, NULL, 1 };
	longopts[nl++] = (struct option){ "check", no_argument, NULL, 2 };
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		size_t i = n;
		if (c >= 256)
			i = (size_t)(c - 256);
		else
			for (i = 0; i < n && !(opts[i].long_name && opts[i].short_name == c); i++)
				;
		if (i < n) {
			struct opt *o = &opts[i];
			if (o->kind == OPT_LIST)
				o->list[o->count++] = optarg;
			given[i] = o->arg != NULL ? optarg : "1";
		} else if (c == 'h') {
			help(opts, n);
		} else if (c == 'V') {
			opt_version();
		} else if (c == 1) {
			dump_asked = 1;
		} else if (c == 2) {
			checking = 1;
		} else {
			opt_usage_error();
		}
	}
	free(longopts);
	if (dump_asked)
		dump(opts, n);
	if (argc - optind > max_operands) {
		log_error("unexpected operand", LOG_STR("operand", argv[optind + max_operands]));
		opt_usage_error();
	}
	if (log_env_error() != 0)
		opt_usage_error();
	for (size_t i = 0; i < n; i++)
		if (opts[i].kind != OPT_LIST)
			pick(&opts[i], given[i]);
	free(given);
}

void
opt_checked(void)
{
	if (checking)
		exit(0);
}

_Noreturn void
opt_bad_value(const struct opt *o, const char *allowed)
{
	if (allowed != NULL)
		die(EX_USAGE, "bad option value", LOG_STR("option", o->source),
		    LOG_STR("value", o->value), LOG_STR("allowed", allowed));
	die(EX_USAGE, "bad option value", LOG_STR("option", o->source), LOG_STR("value", o->value));
}
