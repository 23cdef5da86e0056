/* log: diagnostics on stderr, one record per line, written with one write(2)
 * (retried after EINTR, so a signal never loses a record).
 *   {"ts":"2022-01-10T12:34:09.080Z","level":"warn","tool":"casino-player","msg":"player not found","event_id":7}
 * CASINO_LOG_LEVEL (debug|info|warn|error, default info) sets the threshold;
 * CASINO_LOG_FORMAT=json|text forces the form, else text when stderr is a tty:
 *   casino-player: warning: player not found (event_id 7, player_id 19)
 * "ts" always has milliseconds, so merged logs sort as text.
 * Fields are typed: LOG_INT("event_id", 7), LOG_NUM("rate", 1.07),
 * LOG_STR("url", u). Never pass a secret. */
#ifndef CASINO_LOG_H
#define CASINO_LOG_H
#include <stdlib.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

struct log_field {
	const char *key;
	char kind; /* 'i' integer, 'd' double, 's' string, 0 end */
	long long num;
	double real;
	const char *str;
};

#define LOG_INT(k, v) ((struct log_field){ (k), 'i', (long long)(v), 0, NULL })
#define LOG_NUM(k, v) ((struct log_field){ (k), 'd', 0, (double)(v), NULL })
#define LOG_STR(k, v) ((struct log_field){ (k), 's', 0, 0, (v) })
#define LOG_END ((struct log_field){ NULL, 0, 0, 0, NULL })

/* Name the tool and read the environment; call first in main. An unknown
 * level or format is kept aside (the defaults apply) for log_env_error. */
void log_init(const char *tool);
/* After option parsing: logs each bad CASINO_LOG_LEVEL or CASINO_LOG_FORMAT
 * seen by log_init and returns -1 if there was one (a usage error), else 0. */
int log_env_error(void);
const char *log_tool(void);
/* The rank of a level name: debug 0, info 1, warn or warning 2, error 3;
 * -1 for anything else. The scripts ask casino-env(1) for it. */
int log_level_rank(const char *name);
/* 1 when a record of level would be written: a caller that must format
 * fields first can skip the work. */
int log_enabled(enum log_level level);
/* msg, then struct log_field arguments ending with LOG_END. */
void log_record(enum log_level level, const char *msg, ...);
/* The same with the fields in an array ending with LOG_END (fields built at
 * run time: casino-env log, the scripts' records). */
void log_record_fields(enum log_level level, const char *msg, const struct log_field *fields);

/* A record formatted now, to be written later where log_record cannot run
 * (a signal handler): its length in out, or 0 when below the threshold or
 * longer than size. */
size_t log_prepare_record(char *out, size_t size, enum log_level level, const char *msg, ...);
#define log_prepare(out, size, level, ...) \
	log_prepare_record(out, size, level, __VA_ARGS__, LOG_END)

/* A tool's final counts, the record a wrapper (casino-run, casino-replay)
 * reads: logged like log_record and, when CASINO_COUNTS names a file,
 * appended to it in JSON whatever the threshold and form. */
void log_final_record(enum log_level level, const char *msg, ...);
#define log_final(level, ...) log_final_record(level, __VA_ARGS__, LOG_END)

#define log_debug(...) log_record(LOG_DEBUG, __VA_ARGS__, LOG_END)
#define log_info(...)  log_record(LOG_INFO, __VA_ARGS__, LOG_END)
#define log_warn(...)  log_record(LOG_WARN, __VA_ARGS__, LOG_END)
#define log_error(...) log_record(LOG_ERROR, __VA_ARGS__, LOG_END)
/* err(3)-like, for main and option parsing only: log an error, exit code. */
#define die(code, ...) (log_record(LOG_ERROR, __VA_ARGS__, LOG_END), exit(code))

#endif
