/* casino-consume: print the messages of a Kafka topic on stdout, following
 * it, alone or as a member of a consumer group; casino-sub's reader of
 * kafka:// URLs (doc/design.md, "Delivery"). casino-follow reads file logs.
 *
 * With --group every line gets its src, TOKEN@TOPIC/PARTITION/OFFSET
 * (lib/transport/reader.h). Without --ack the group's position moves when
 * a line is handed to stdout (as kcat does); with --ack it moves only past
 * positions that the last stage acknowledged on the FIFO. Positions are
 * stored with rd_kafka_offsets_store and committed every second and at
 * close. A member's session is short by default (6 s, heartbeats every
 * 500 ms), so a member killed and started again reads within 15 s; a stop
 * closes the consumer, which leaves the group at once.
 * At a stop (SIGINT, SIGTERM) or with --exit at the end, it stops reading,
 * closes stdout and, with --ack, waits up to 10 s for the acks of what it
 * emitted (or for every sink to close the FIFO), then commits. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <signal.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "buf.h"
#include "log.h"
#include "opt.h"
#include "out.h"
#include "sig.h"
#include "transport/kafkaconf.h"
#include "transport/reader.h"

#define POLL_MS 100

/* The options (doc/design.md, "One declaration per option"). */
enum { EXIT, ACK, FROM, GROUP, CONFIG, PROPERTY, BROKERS, TOPIC };
static struct opt opts[] = {
	[EXIT] = { 'e', "exit", NULL, "CASINO_SUB_EXIT", .kind = OPT_FLAG,
	    .help = "stop at the current end instead of following; the variable: 1" },
	[ACK] = { 'a', "ack", "fifo", "CASINO_SUB_ACK",
	    .help = "move the group only past positions acknowledged there" },
	[FROM] = { 'f', "from", "start|end", "CASINO_SUB_FROM", "start", .kind = OPT_CHOICE,
	    .choices = "start end", .help = "where to begin; a group resumes at its position" },
	[GROUP] = { 'g', "group", "group", "CASINO_SUB_GROUP",
	    .help = "read as a member of this group" },
	[CONFIG] = { 'F', "config", "config-file", "CASINO_KAFKA_CONFIG",
	    .help = "librdkafka properties, prop=value a line" },
	[PROPERTY] = { 'X', "property", "property=value", .kind = OPT_LIST,
	    .help = "one librdkafka property, may repeat" },
	[BROKERS] = { 'b', "brokers", "brokers", "CASINO_KAFKA_BROKERS", .synopsis = "",
	    .help = "bootstrap HOST:PORT[,...]" },
	[TOPIC] = { 't', "topic", "topic", "CASINO_KAFKA_TOPIC", .synopsis = "",
	    .help = "the topic" },
};

/* What the consumer knows of one partition. */
struct part {
	int assigned, at_end;
	int64_t emitted; /* offset of the last line emitted, -1 none */
	int64_t acked;   /* offset of the last line acknowledged, -1 none */
	int64_t stored;  /* acked as last stored for the commit */
};

struct consumer {
	const char *topic, *group;
	int stop_at_end;
	rd_kafka_t *rk;
	rd_kafka_resp_err_t last_err;
	struct part *parts;
	int32_t nparts;
	struct reader r;
	struct buf stream; /* TOPIC/PARTITION of the message being written */
};

static struct part *
part_of(struct consumer *c, int32_t p)
{
	if (p >= c->nparts) {
		c->parts = xrealloc(c->parts, (size_t)(p + 1) * sizeof(*c->parts));
		for (int32_t i = c->nparts; i <= p; i++)
			c->parts[i] = (struct part){ 0, 0, -1, -1, -1 };
		c->nparts = p + 1;
	}
	return &c->parts[p];
}

/* Stores offset + 1 of each partition's newest acknowledged line, in one
 * call per batch of acks read. A partition no longer ours fails (_STATE):
 * its new owner reads it. */
static void
kafka_store_acked(void *arg)
{
	struct consumer *c = arg;
	rd_kafka_topic_partition_list_t *list = NULL;

	for (int32_t p = 0; p < c->nparts; p++) {
		struct part *pt = &c->parts[p];
		if (pt->acked <= pt->stored)
			continue;
		if (list == NULL)
			list = rd_kafka_topic_partition_list_new(c->nparts);
		rd_kafka_topic_partition_list_add(list, c->topic, p)->offset = pt->acked + 1;
		pt->stored = pt->acked;
	}
	if (list == NULL)
		return;
	rd_kafka_offsets_store(c->rk, list);
	rd_kafka_topic_partition_list_destroy(list);
}

/* An ack with our token (lib/transport/reader.h): its partition's
 * position, never past what was emitted. */
static void
on_ack(void *arg, const char *stream, size_t n, int64_t offset)
{
	struct consumer *c = arg;
	char topic[256];
	int32_t p;

	if (src_kafka_stream(stream, n, topic, sizeof(topic), &p) < 0 || strcmp(topic, c->topic) != 0)
		return;
	struct part *pt = part_of(c, p);
	if (offset > pt->acked && offset <= pt->emitted)
		pt->acked = offset;
}

static int
all_acked(void *arg)
{
	const struct consumer *c = arg;

	for (int32_t i = 0; i < c->nparts; i++)
		if (c->parts[i].emitted > c->parts[i].acked)
			return 0;
	return 1;
}

static void
log_partitions(const char *msg, const rd_kafka_topic_partition_list_t *list)
{
	struct buf b = { 0 };

	for (int i = 0; i < list->cnt; i++) {
		if (i > 0)
			buf_putc(&b, ' ');
		buf_put_int(&b, list->elems[i].partition);
	}
	log_info(msg, LOG_STR("partitions", b.data ? b.data : ""));
	buf_free(&b);
}

static void
mark_assigned(struct consumer *c, const rd_kafka_topic_partition_list_t *list, int assigned)
{
	for (int i = 0; i < list->cnt; i++) {
		struct part *pt = part_of(c, list->elems[i].partition);
		*pt = (struct part){ assigned, 0, -1, -1, -1 };
	}
}

static void
on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *list,
    void *opaque)
{
	struct consumer *c = opaque;
	int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		mark_assigned(c, list, 1);
		log_partitions("partitions assigned", list);
		if (cooperative)
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, list));
		else
			rd_kafka_assign(rk, list);
		return;
	}
	/* Revoked (or lost): auto commit has committed what was stored. */
	mark_assigned(c, list, 0);
	log_partitions("partitions revoked", list);
	if (cooperative)
		rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, list));
	else
		rd_kafka_assign(rk, NULL);
}

/* Alone (no group): every partition of the topic, from start or end. */
static void
kafka_assign_all(struct consumer *c, int from_end)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *t = rd_kafka_topic_new(c->rk, c->topic, NULL);
	rd_kafka_resp_err_t err;

	while ((err = rd_kafka_metadata(c->rk, 0, t, &md, 5000)) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    md->topic_cnt < 1 || md->topics[0].partition_cnt < 1) {
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
			rd_kafka_metadata_destroy(md);
		log_warn("waiting for the topic", LOG_STR("topic", c->topic),
		    LOG_STR("error", rd_kafka_err2str(err)));
		if (sig_sleep_ms(500) < 0) {
			rd_kafka_topic_destroy(t);
			return;
		}
	}
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (int i = 0; i < md->topics[0].partition_cnt; i++)
		rd_kafka_topic_partition_list_add(list, c->topic, md->topics[0].partitions[i].id)->offset =
		    from_end ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
	mark_assigned(c, list, 1);
	rd_kafka_assign(c->rk, list);
	rd_kafka_topic_partition_list_destroy(list);
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
}

static int
all_at_end(const struct consumer *c)
{
	int any = 0;

	for (int32_t i = 0; i < c->nparts; i++) {
		if (c->parts[i].assigned && !c->parts[i].at_end)
			return 0;
		any |= c->parts[i].assigned;
	}
	return any;
}

/* One message or event from librdkafka; 0 when the run should end. */
static int
kafka_handle(struct consumer *c, rd_kafka_message_t *m)
{
	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		part_of(c, m->partition)->at_end = 1;
		log_info("reached the end of a partition", LOG_INT("partition", m->partition),
		    LOG_INT("offset", m->offset));
		return !(c->stop_at_end && all_at_end(c));
	}
	if (m->err) { /* librdkafka retries; say each new error once */
		if (m->err != c->last_err)
			log_warn("kafka", LOG_STR("error", rd_kafka_message_errstr(m)));
		c->last_err = m->err;
		return 1;
	}
	c->last_err = RD_KAFKA_RESP_ERR_NO_ERROR;
	struct part *pt = part_of(c, m->partition);
	pt->at_end = 0;
	pt->emitted = m->offset;
	c->stream.len = 0;
	buf_printf(&c->stream, "%s/%d", c->topic, (int)m->partition);
	reader_emit(&c->r, c->stream.data, c->stream.len, m->offset, m->payload, m->len);
	if (c->group != NULL && !c->r.acking)
		rd_kafka_offset_store(m->rkt, m->partition, m->offset);
	return 1;
}

static void
kafka_open(struct consumer *c, const char *brokers, const char *from, const char *config,
    const char **props, int nprops)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];

	/* Positions are stored by us only (on hand-over, or on an ack) and
	 * committed every second and at close. */
	kafka_conf_set(conf, "enable.auto.offset.store=false", strlen("enable.auto.offset.store=false"));
	kafka_conf_set(conf, "auto.commit.interval.ms=1000", strlen("auto.commit.interval.ms=1000"));
	kafka_conf_set(conf, "enable.partition.eof=true", strlen("enable.partition.eof=true"));
	/* An idle fetch waits 100 ms, not 500 (the mock answers only then). */
	kafka_conf_set(conf, "fetch.wait.max.ms=100", strlen("fetch.wait.max.ms=100"));
	/* A member killed is out of the group after 6 s, not librdkafka's 45:
	 * its partitions go to the others, or to it again once restarted. */
	kafka_conf_set(conf, "session.timeout.ms=6000", strlen("session.timeout.ms=6000"));
	kafka_conf_set(conf, "heartbeat.interval.ms=500", strlen("heartbeat.interval.ms=500"));
	if (strcmp(from, "end") == 0)
		kafka_conf_set(conf, "auto.offset.reset=latest", strlen("auto.offset.reset=latest"));
	else
		kafka_conf_set(conf, "auto.offset.reset=earliest", strlen("auto.offset.reset=earliest"));
	/* Alone, a private group id that never joins (assign, no
	 * subscribe) nor commits: librdkafka's consumer API wants one. */
	if (c->group == NULL)
		kafka_conf_set(conf, "enable.auto.commit=false", strlen("enable.auto.commit=false"));
	if (rd_kafka_conf_set(conf, "group.id", c->group ? c->group : "casino-consume-alone",
	    errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		die(EX_USAGE, "bad group", LOG_STR("error", errstr));
	kafka_conf_apply(conf, config, props, nprops);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		die(EX_USAGE, "bad broker list", LOG_STR("error", errstr));
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_opaque(conf, c);
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (c->rk == NULL)
		die(EX_UNAVAILABLE, "cannot create the consumer", LOG_STR("error", errstr));
	rd_kafka_poll_set_consumer(c->rk);
	if (c->group == NULL) {
		kafka_assign_all(c, strcmp(from, "end") == 0);
		return;
	}
	rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, c->topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		die(EX_UNAVAILABLE, "cannot subscribe", LOG_STR("error", rd_kafka_err2str(err)));
}

/* Reads the topic until a stop, the end (-e) or a closed stdout. */
static void
kafka_run(struct consumer *c)
{
	for (unsigned long n = 1; !sig_stopping() && out_status() == 0; n++) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 0);
		/* Acks are read when idle and every 256 messages when busy. */
		if (n % 256 == 0)
			reader_read_acks(&c->r);
		if (m == NULL) {
			out_flush();
			reader_read_acks(&c->r);
			m = rd_kafka_consumer_poll(c->rk, POLL_MS);
			if (m == NULL)
				continue;
		}
		int go_on = kafka_handle(c, m);
		rd_kafka_message_destroy(m);
		if (!go_on)
			break;
	}
}

#define CLOSE_TIMEOUT_S 15

static char close_timeout_record[512];
static size_t close_timeout_length;

/* A signal handler: writes the record close_bounded made, without allocating. */
static void
close_timed_out(int sig)
{
	(void)sig;
	(void)!write(STDERR_FILENO, close_timeout_record, close_timeout_length);
	_exit(EX_UNAVAILABLE);
}

/* With the brokers gone or stalled, librdkafka's close can wait for ever;
 * what it would commit is read again by the group (at least once), so after
 * CLOSE_TIMEOUT_S the consumer gives up with 69 and says so. The record is
 * made before the wait, stamped when the close began. */
static void
close_bounded(rd_kafka_t *rk)
{
	close_timeout_length = log_prepare(close_timeout_record, sizeof close_timeout_record,
	    LOG_ERROR, "the brokers did not answer the close in time; "
	    "positions not committed are read again by the group",
	    LOG_INT("timeout_s", CLOSE_TIMEOUT_S));
	signal(SIGALRM, close_timed_out);
	alarm(CLOSE_TIMEOUT_S);
	rd_kafka_consumer_close(rk);
	alarm(0);
	rd_kafka_destroy(rk);
}

int
main(int argc, char **argv)
{
	const char *ack_path, *brokers;
	static struct consumer c;
	int status;

	log_init(argv[0]);
	opt_parse(argc, argv, opts, OPT_COUNT(opts), "-b brokers -t topic", 0);
	ack_path = opts[ACK].value;
	brokers = opts[BROKERS].value;
	c.topic = opts[TOPIC].value;
	c.group = opts[GROUP].value;
	c.stop_at_end = opts[EXIT].on;
	if (brokers == NULL || c.topic == NULL) {
		log_error("want -b and -t (a file log is casino-follow's)");
		opt_usage_error();
	}
	if (ack_path != NULL && c.group == NULL) {
		log_error("--ack needs --group: only a group keeps a position to move");
		opt_usage_error();
	}
	opt_checked();
	reader_init(&c.r, c.group != NULL);
	c.r.on_ack = on_ack;
	c.r.acks_read = kafka_store_acked;
	c.r.all_acked = all_acked;
	c.r.arg = &c;
	if (ack_path != NULL && reader_open_acks(&c.r, ack_path) < 0)
		die(errno == EINVAL ? EX_USAGE : EX_IOERR, "cannot use the acknowledgement FIFO",
		    LOG_STR("option", opts[ACK].source), LOG_STR("path", ack_path),
		    LOG_STR("error", strerror(errno)));
	sig_init();
	kafka_open(&c, brokers, opts[FROM].value, opts[CONFIG].value, opts[PROPERTY].list,
	    opts[PROPERTY].count);
	kafka_run(&c);
	free(opts[PROPERTY].list);
	out_flush();
	status = out_status() > 0 ? out_status() : 0;
	/* The stages after us see the end of their input and finish. */
	close(STDOUT_FILENO);
	reader_finish(&c.r);
	close_bounded(c.rk);
	reader_free(&c.r);
	free(c.parts);
	buf_free(&c.stream);
	return status;
}
