#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/types.h>

#include "buf.h"
#include "transport/kafkaconf.h"
#include "log.h"

void
kafka_conf_set(rd_kafka_conf_t *conf, const char *prop, size_t len)
{
	char errstr[512], *copy = xstrndup(prop, len), *eq = strchr(copy, '=');

	if (eq == NULL || eq == copy)
		die(EX_USAGE, "want property=value", LOG_STR("property", copy));
	*eq = '\0';
	if (rd_kafka_conf_set(conf, copy, eq + 1, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		die(EX_USAGE, "bad Kafka property", LOG_STR("property", copy), LOG_STR("error", errstr));
	free(copy);
}

void
kafka_conf_file(rd_kafka_conf_t *conf, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		die(EX_USAGE, "cannot read the config file", LOG_STR("path", path),
		    LOG_STR("error", strerror(errno)));
	while ((n = getline(&line, &cap, f)) >= 0) {
		size_t start = strspn(line, " \t");
		while (n > 0 && strchr(" \t\r\n", line[n - 1]))
			n--;
		if ((size_t)n > start && line[start] != '#')
			kafka_conf_set(conf, line + start, (size_t)n - start);
	}
	/* getline's -1 is the end or an error: a config read in part (a
	 * folder, EIO) must not run with the settings it lost. */
	if (ferror(f))
		die(EX_USAGE, "cannot read the config file", LOG_STR("path", path),
		    LOG_STR("error", strerror(errno)));
	free(line);
	fclose(f);
}

static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)opaque;
	log_warn("kafka", LOG_STR("error", rd_kafka_err2name(err)), LOG_STR("reason", reason));
}

void
kafka_conf_apply(rd_kafka_conf_t *conf, const char *file, const char **props, int nprops)
{
	kafka_conf_set(conf, "log_level=0", strlen("log_level=0"));
	if (file != NULL)
		kafka_conf_file(conf, file);
	for (int i = 0; i < nprops; i++)
		kafka_conf_set(conf, props[i], strlen(props[i]));
	rd_kafka_conf_set_error_cb(conf, on_error);
}
