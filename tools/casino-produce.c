/* casino-produce: publish NDJSON lines from stdin to a Kafka topic, each
 * keyed by its player_id, so the default partitioner puts one player's
 * events in one partition, in order. casino-pub's kafka:// transport.
 *
 * Why not `kcat -P -K`: kcat reads its input 128 bytes at a time and waits
 * for all 128, so the last event of a burst sits in kcat until more input
 * arrives, against doc/design.md's "never hold an event back". Here each line
 * is handed to librdkafka as soon as it is read (linger.ms then batches).
 * With --ack, a line's src (doc/design.md, "Delivery") is acknowledged once
 * the line and every earlier one of its stream are delivered; src is never
 * published. A stop waits up to 10 s for what is in flight.
 * Exit: 0 when every message was acknowledged, 69 when the cluster cannot
 * be used or a stop left messages undelivered, 74 when a message could not be delivered, 65 when a line was too
 * long (it is not sent), 64 usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "transport/ack.h"
#include "buf.h"
#include "event.h"
#include "transport/kafkaconf.h"
#include "log.h"
#include "ndjson.h"
#include "opt.h"
#include "stage.h"

/* How long a stop waits for the delivery of what is in flight. */
#define STOP_WAIT_MS 10000

static unsigned long delivery_failures;

/* The options (doc/design.md, "One declaration per option"). */
enum { ACK, BROKERS, TOPIC, CONFIG, PROPERTY };
static struct opt opts[] = {
	[ACK] = { 'a', "ack", "fifo", "CASINO_PUB_ACK",
	    .help = "acknowledge each delivered line's src there" },
	[BROKERS] = { 'b', "brokers", "brokers", "CASINO_KAFKA_BROKERS", .synopsis = "-b brokers",
	    .help = "bootstrap HOST:PORT[,...]" },
	[TOPIC] = { 't', "topic", "topic", "CASINO_KAFKA_TOPIC", .synopsis = "-t topic",
	    .help = "the topic" },
	[CONFIG] = { 'F', "config", "config-file", "CASINO_KAFKA_CONFIG",
	    .help = "librdkafka properties, prop=value a line" },
	[PROPERTY] = { 'X', "property", "property=value", .kind = OPT_LIST,
	    .help = "one librdkafka property, may repeat" },
};

/* Per message: counted until its delivery report; with --ack, its
 * position is acknowledged once every earlier one of its stream is done. */
static unsigned long in_flight;
static struct ack_order ack_order;
static struct ack_sink acks;

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	in_flight--;
	if (m->err) {
		delivery_failures++;
		log_error("message not delivered", LOG_STR("error", rd_kafka_err2str(m->err)));
	} else if (m->_private != NULL) {
		ack_order_done(&ack_order, m->_private, &acks);
	}
}

/* Hands one framed line to librdkafka, waiting while its queue is full. */
static void
produce(rd_kafka_t *rk, rd_kafka_topic_t *topic, const char *line, size_t len,
    const char *key, size_t key_len, struct ack_entry *ack)
{
	while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
	    (void *)line, len, key, key_len, ack) != 0) {
		if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			die(EX_SOFTWARE, "cannot produce",
			    LOG_STR("error", rd_kafka_err2str(rd_kafka_last_error())));
		rd_kafka_poll(rk, 10);
	}
	in_flight++;
	rd_kafka_poll(rk, 0);
	if (acks.path != NULL)
		ack_sink_send(&acks);
}

/* Publishes one line: keyed by player_id; without its src, a position in
 * the topic it came from that means nothing in this one; with --ack that
 * src goes on as "origin", so a sink can drop what a restarted worker
 * publishes again. */
static void
publish(rd_kafka_t *rk, rd_kafka_topic_t *topic, const char *line, size_t len,
    unsigned long lineno)
{
	static struct buf key, text;
	struct ack_entry *ack = NULL;
	struct event ev;
	char why[256];
	const char *src;
	size_t src_len;

	key.len = text.len = 0;
	if (event_parse(&ev, line, len, why, sizeof(why)) != 0) {
		/* Carried anyway, without a key: the stage after the
		 * subscriber rejects it with its line number. */
		log_warn("not an event, published without a key",
		    LOG_INT("line", lineno), LOG_STR("reason", why));
		produce(rk, topic, line, len, NULL, 0, NULL);
		return;
	}
	buf_put_int(&key, ev.player_id);
	if (acks.path != NULL && ack_event_src(&ev, &src, &src_len) == 0)
		ack = ack_order_add(&ack_order, src, src_len);
	else if (acks.path != NULL)
		ack_sink_line(&acks, &ev);
	if (acks.path != NULL) /* its position here, for an exactly-once sink */
		event_write_moved_key(&text, &ev, ACK_KEY, ACK_ORIGIN_KEY);
	else
		event_write_without_key(&text, &ev, ACK_KEY);
	produce(rk, topic, text.data, text.len - 1, key.data, key.len, ack);
	event_free(&ev);
}

/* Waits for the delivery of what is in flight: without end at the end of
 * the input (message.timeout.ms bounds it), at most STOP_WAIT_MS after a
 * stop. 0, or the exit status for what was not delivered. */
static int
drain(rd_kafka_t *rk)
{
	int stopped = sig_stopping();
	rd_kafka_resp_err_t err = rd_kafka_flush(rk, stopped ? STOP_WAIT_MS : -1);

	if (acks.path != NULL)
		ack_sink_send(&acks);
	if (stopped && in_flight > 0) {
		log_error("stopped with messages not delivered; they are not acknowledged",
		    LOG_INT("undelivered", in_flight));
		return EX_UNAVAILABLE;
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_error("cannot flush", LOG_STR("error", rd_kafka_err2str(err)));
	if (delivery_failures > 0 || err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		log_error("messages lost", LOG_INT("count", delivery_failures));
		return EX_IOERR;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *brokers, *topic_name, *ack_path;
	size_t max_line;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];
	unsigned long too_long = 0;
	int status;
	struct line_reader in;

	log_init(argv[0]);
	opt_parse(argc, argv, opts, OPT_COUNT(opts), NULL, 0);
	brokers = opts[BROKERS].value;
	topic_name = opts[TOPIC].value;
	ack_path = opts[ACK].value;
	if (brokers == NULL || topic_name == NULL) {
		log_error("no brokers or no topic: give -b and -t or set CASINO_KAFKA_BROKERS "
		    "and CASINO_KAFKA_TOPIC");
		opt_usage_error();
	}
	max_line = line_max_env();
	/* Idempotence keeps a partition's order across retries, without gaps.
	 * The caller's file and -X settings come after and win. */
	kafka_conf_set(conf, "enable.idempotence=true", strlen("enable.idempotence=true"));
	kafka_conf_apply(conf, opts[CONFIG].value, opts[PROPERTY].list, opts[PROPERTY].count);
	free(opts[PROPERTY].list);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		die(EX_USAGE, "bad broker list", LOG_STR("error", errstr));
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	opt_checked();
	if (ack_path != NULL && ack_sink_open(&acks, ack_path) < 0) {
		int err = errno;
		rd_kafka_conf_destroy(conf); /* die's exit must leave nothing allocated */
		die(err == EINVAL ? EX_USAGE : EX_IOERR, "cannot use the acknowledgement FIFO",
		    LOG_STR("option", opts[ACK].source), LOG_STR("path", ack_path), LOG_STR("error", strerror(err)));
	}

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
		enum line_status st = line_read(&in, &line, &len);

		if (st == LINE_END)
			break;
		if (st == LINE_TOO_LONG) {
			too_long++;
			log_error("line too long, not published", LOG_INT("line", in.lineno));
			continue;
		}
		publish(rk, topic, line, len, in.lineno);
	}

	status = drain(rk);
	rd_kafka_topic_destroy(topic);
	rd_kafka_destroy(rk);
	line_reader_free(&in);
	if (acks.path != NULL)
		ack_sink_close(&acks);
	ack_order_free(&ack_order);
	return exit_worst(status, too_long ? EX_DATAERR : 0);
}
