/* opt: the command-line rules every tool shares. Each option is declared
 * once, in a table in the tool (doc/design.md, "One declaration per option"):
 *
 *   enum { COUNT, RATE, REJECT };
 *   static struct opt opts[] = {
 *   	[COUNT] = { 'n', "count", "count", "CASINO_GEN_COUNT", .kind = OPT_NUMBER,
 *   	    .max = LLONG_MAX, .help = "stop after count events" },
 *   	[RATE] = { 'r', "rate", "rate", "CASINO_GEN_RATE", "0", .kind = OPT_REAL,
 *   	    .rmax = 1e9, .help = "events per second" },
 *   	[REJECT] = OPT_REJECT,
 *   };
 *   opt_parse(argc, argv, opts, OPT_COUNT(opts), NULL, 0);
 *   if (opts[COUNT].value != NULL) count = opts[COUNT].number;
 *
 * opt_parse runs getopt_long with the short and long names, answers -h
 * (usage and a line per option, derived), -V, --options (the table, for
 * the man page lint) and remembers --check; only after getopt ends does it
 * read the environment, so -h and -V work whatever it holds. Then, in table
 * order, each value: the option wins over the variable (when set and not
 * empty), else the default; its kind is checked, and a bad value is logged
 * naming its source (the option's long name, "--count", or the variable's)
 * and exits 64 (EX_USAGE). The usage line is the man page's SYNOPSIS.
 * log_init must have run first; the opt_* calls are for main only. */
#ifndef CASINO_OPT_H
#define CASINO_OPT_H

#include <stddef.h>

enum opt_kind {
	OPT_STRING,  /* any text; the tool checks what it means */
	OPT_NUMBER,  /* strict decimal integer in [min, max] */
	OPT_REAL,    /* strict digits[.digits] in [rmin, rmax] */
	OPT_CHOICE,  /* one of choices (space-separated); its index in choice */
	OPT_FLAG,    /* no argument; on when given, or the variable set and not "0" */
	OPT_LIST,    /* may repeat; every value in list[0..count), no variable */
};

struct opt {
	/* The declaration. */
	int short_name;          /* 'n'; 0 for a variable only */
	const char *long_name;   /* "count" for --count; NULL for a variable only */
	const char *arg;         /* the argument's name in usage and help; NULL: a flag */
	const char *env;         /* the variable, or NULL */
	const char *fallback;    /* the default value, or NULL */
	enum opt_kind kind;
	long long min, max;      /* OPT_NUMBER */
	double rmin, rmax;       /* OPT_REAL */
	const char *choices;     /* OPT_CHOICE: "hold pass" */
	const char *synopsis;    /* its word in the usage line when not "[-n count]";
	                          * "" when the operands text shows it */
	const char *help;        /* help text; '\n' starts an indented line */
	/* What opt_parse found. */
	const char *value;       /* option, else variable, else fallback (may be NULL) */
	const char *source;      /* "--count", "CASINO_GEN_COUNT" or "default" */
	long long number;        /* OPT_NUMBER */
	double real;             /* OPT_REAL */
	int choice;              /* OPT_CHOICE */
	int on;                  /* OPT_FLAG */
	const char **list;       /* OPT_LIST */
	int count;               /* OPT_LIST */
};

#define OPT_COUNT(table) (sizeof(table) / sizeof((table)[0]))
#define OPT_MAX 64 /* entries in a table */

/* Parses argv by the table (n entries) and sets each entry's value. The
 * usage line is the tool's name, each option's word and then operands (NULL
 * for none); more than max_operands operands, an unknown option or a bad
 * CASINO_LOG_* variable exit 64 with it. optind is left at the first
 * operand. */
void opt_parse(int argc, char **argv, struct opt *opts, size_t n, const char *operands,
	int max_operands);
/* The usage line opt_parse derived, without "usage: ". */
const char *opt_usage(void);
/* With --check: exits 0 here, every value checked, nothing run. Every tool
 * calls it once, where its own checks of the values end and its work (a
 * file opened, a connection, a read) begins. */
void opt_checked(void);

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
/* Logs that the value of o is bad (allowed: what it may be, or NULL) and
 * exits 64: for the checks a tool makes beyond the value's kind. */
_Noreturn void opt_bad_value(const struct opt *o, const char *allowed);
/* Prints "usage: " and the usage line to stderr, exits 64. */
_Noreturn void opt_usage_error(void);

#endif
