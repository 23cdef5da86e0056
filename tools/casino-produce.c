/* casino-produce: publish NDJSON lines from stdin to a Kafka topic, each
 * keyed by its player_id, so the default partitioner puts one player's
 * events in one partition, in order. casino-pub's kafka:// transport.
 *
 * Why not `kcat -P -K`: kcat reads its input 128 bytes at a time and waits
 * for all 128, so the last event of a burst sits in kcat until more input
 * arrives, against doc/design.md's "never hold an event back". Here each line
 * is handed to librdkafka as soon as it is read (linger.ms then batches).
 * Exit: 0 when every message was acknowledged, 69 when the cluster cannot
 * be used, 74 when a message could not be delivered, 65 when a line was too
 * long (it is not sent), 64 usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "buf.h"
#include "event.h"
#include "log.h"
#include "ndjson.h"
#include "opt.h"

static const char usage_text[] =
    "casino-produce -b brokers -t topic [-F config-file] [-X property=value ...]";

static unsigned long delivery_failures;

static void
usage(void)
{
	printf("usage: %s\n"
	    "  -b, --brokers LIST     bootstrap HOST:PORT[,...] (CASINO_KAFKA_BROKERS)\n"
	    "  -t, --topic NAME       the topic (CASINO_KAFKA_TOPIC)\n"
	    "  -F, --config FILE      librdkafka properties, prop=value a line (CASINO_KAFKA_CONFIG)\n"
	    "  -X, --property P=V     one librdkafka property, may repeat\n"
	    "  -h, --help             this text\n"
	    "  -V, --version          the version\n", usage_text);
	exit(0);
}

static void
set_property(rd_kafka_conf_t *conf, const char *prop, size_t len)
{
	char errstr[512], *copy = xstrndup(prop, len), *eq = strchr(copy, '=');

	if (eq == NULL || eq == copy)
		die(EX_USAGE, "want property=value", LOG_STR("property", copy));
	*eq = '\0';
	if (rd_kafka_conf_set(conf, copy, eq + 1, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		die(EX_USAGE, "bad Kafka property", LOG_STR("property", copy), LOG_STR("error", errstr));
	free(copy);
}

/* kcat's -F format: prop=value lines; blank lines and # comments skipped. */
static void
read_config(rd_kafka_conf_t *conf, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		die(EX_USAGE, "cannot read the config file", LOG_STR("path", path));
	while ((n = getline(&line, &cap, f)) >= 0) {
		size_t start = strspn(line, " \t");
		while (n > 0 && strchr(" \t\r\n", line[n - 1]))
			n--;
		if ((size_t)n > start && line[start] != '#')
			set_property(conf, line + start, (size_t)n - start);
	}
	free(line);
	fclose(f);
}

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err) {
		delivery_failures++;
		log_error("message not delivered", LOG_STR("error", rd_kafka_err2str(m->err)));
	}
}

static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)opaque;
	log_warn("kafka", LOG_STR("error", rd_kafka_err2name(err)), LOG_STR("reason", reason));
}

/* Hands one framed line to librdkafka, waiting while its queue is full. */
static void
produce(rd_kafka_t *rk, rd_kafka_topic_t *topic, const char *line, size_t len,
    const char *key, size_t key_len)
{
	while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
	    (void *)line, len, key, key_len, NULL) != 0) {
		if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			die(EX_SOFTWARE, "cannot produce",
			    LOG_STR("error", rd_kafka_err2str(rd_kafka_last_error())));
		rd_kafka_poll(rk, 10);
	}
	rd_kafka_poll(rk, 0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'F' },
		{ "property", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *brokers_arg = NULL, *topic_arg = NULL, *config_arg = NULL;
	const char *brokers, *topic_name, *config, *src;
	size_t max_line;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];
	unsigned long too_long = 0;
	struct buf key = { 0 };
	const char **props = xmalloc((size_t)argc * sizeof(*props));
	int nprops = 0;
	struct line_reader in;
	int c;

	log_init(argv[0]);
	/* Idempotence keeps a partition's order across retries; librdkafka's
	 * own log is off because error_cb reports the same in our format. The caller's
	 * file and -X settings come after and win. */
	set_property(conf, "enable.idempotence=true", strlen("enable.idempotence=true"));
	set_property(conf, "log_level=0", strlen("log_level=0"));
	while ((c = getopt_long(argc, argv, "b:t:F:X:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': brokers_arg = optarg; break;
		case 't': topic_arg = optarg; break;
		case 'F': config_arg = optarg; break;
		case 'X': props[nprops++] = optarg; break;
		case 'h': usage(); break;
		case 'V': opt_version(); break;
		default: opt_usage_error(usage_text);
		}
	}
	opt_done(argc, argv, 0, usage_text);
	brokers = opt_pick("--brokers", brokers_arg, "CASINO_KAFKA_BROKERS", NULL, &src);
	topic_name = opt_pick("--topic", topic_arg, "CASINO_KAFKA_TOPIC", NULL, &src);
	config = opt_pick("--config", config_arg, "CASINO_KAFKA_CONFIG", NULL, &src);
	if (brokers == NULL || topic_name == NULL) {
		log_error("no brokers or no topic: give -b and -t or set CASINO_KAFKA_BROKERS "
		    "and CASINO_KAFKA_TOPIC");
		opt_usage_error(usage_text);
	}
	max_line = line_max_env();
	if (config != NULL)
		read_config(conf, config);
	for (int i = 0; i < nprops; i++)
		set_property(conf, props[i], strlen(props[i]));
	free(props);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		die(EX_USAGE, "bad broker list", LOG_STR("error", errstr));
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);

	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		die(EX_UNAVAILABLE, "cannot create the producer", LOG_STR("error", errstr));
	rd_kafka_topic_t *topic = rd_kafka_topic_new(rk, topic_name, NULL);
	if (topic == NULL)
		die(EX_UNAVAILABLE, "cannot use the topic", LOG_STR("topic", topic_name),
		    LOG_STR("error", rd_kafka_err2str(rd_kafka_last_error())));

	sig_init();
	line_reader_init(&in, STDIN_FILENO, max_line);
	for (;;) {
		const char *line;
		size_t len;
		struct event ev;
		char why[256];
		enum line_status status = line_read(&in, &line, &len);

		if (status == LINE_END)
			break;
		if (status == LINE_TOO_LONG) {
			too_long++;
			log_error("line too long, not published", LOG_INT("line", in.lineno));
			continue;
		}
		key.len = 0;
		if (event_parse(&ev, line, len, why, sizeof(why)) == 0) {
			buf_put_int(&key, ev.player_id);
			event_free(&ev);
		} else {
			/* Carried anyway, without a key: the stage after the
			 * subscriber rejects it with its line number. */
			log_warn("not an event, published without a key",
			    LOG_INT("line", in.lineno), LOG_STR("reason", why));
		}
		produce(rk, topic, line, len, key.len ? key.data : NULL, key.len);
	}

	/* Wait for every acknowledgement; message.timeout.ms bounds it. */
	rd_kafka_resp_err_t err = rd_kafka_flush(rk, -1);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_error("cannot flush", LOG_STR("error", rd_kafka_err2str(err)));
	rd_kafka_topic_destroy(topic);
	rd_kafka_destroy(rk);
	line_reader_free(&in);
	buf_free(&key);
	if (delivery_failures > 0 || err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_error("messages lost", LOG_INT("count", delivery_failures));
		return EX_IOERR;
	}
	return too_long ? EX_DATAERR : 0;
}
