/* casino-consume: print the lines of a Kafka topic or a file log on stdout,
 * following them, alone or as a member of a group. casino-sub's reader
 * (doc/design.md, "Delivery").
 *
 * With --group every line gets a "src" key naming its position (Kafka:
 * TOPIC/PARTITION/OFFSET; file log: the byte offset just past the line).
 * Without --ack the group's position moves when a line is handed to stdout
 * (as kcat does); with --ack it moves only past positions that the last
 * stage acknowledged on the FIFO (lib/transport/ack.h). Kafka positions are stored
 * with rd_kafka_offsets_store and committed every second and at close; a
 * file log group's position is a cursor file under $CASINO_STATE_DIR,
 * rewritten (write + rename) at most every second and at close.
 * At a stop (SIGINT, SIGTERM) or with --exit at the end, it stops reading,
 * closes stdout and, with --ack, waits up to 10 s for the acks of what it
 * emitted (or for every sink to close the FIFO), then records the position. */
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

#include "transport/ack.h"
#include "transport/cursor.h"
#include "buf.h"
#include "event.h"
#include "transport/kafkaconf.h"
#include "log.h"
#include "opt.h"
#include "out.h"
#include "sig.h"
#include "timefmt.h"

#define POLL_MS 100
#define COMMIT_MS 1000
#define STOP_WAIT_MS 10000
#define READ_CHUNK 65536

/* The options (doc/design.md, "One declaration per option"); -b, -t and
 * -l are in the operands' part of the usage line, as either-or. */
enum { EXIT, ACK, FROM, GROUP, CONFIG, PROPERTY, BROKERS, TOPIC, LOG };
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
	[LOG] = { 'l', "log", "file", "CASINO_SUB_LOG", .synopsis = "",
	    .help = "a file log instead of Kafka" },
};

/* What the consumer knows of one partition (a file log is partition 0). */
struct part {
	int assigned, at_end;
	int64_t emitted; /* offset of the last line emitted, -1 none */
	int64_t acked;   /* offset of the last line acknowledged, -1 none */
	int64_t stored;  /* acked as last stored for the commit */
};

struct consumer {
	const char *topic, *group;
	int acking, stop_at_end;
	rd_kafka_t *rk;
	rd_kafka_resp_err_t last_err;
	struct part *parts;
	int32_t nparts;
	struct ack_source acks;
	struct buf line, src;
	struct event scan;
	/* file log */
	int fd;
	int64_t pos;           /* byte offset read up to */
	struct cursor cursor;  /* a group's position */
	int64_t next_commit_ms;
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

/* Writes one line to stdout, with "src" set when reading for a group; a
 * line that is not a JSON object goes as it is (the next stage rejects it). */
static void
emit(struct consumer *c, const char *line, size_t len)
{
	char why[128];

	if (c->group != NULL && json_scan_object(&c->scan.members, line, len, why, sizeof(why)) == 0) {
		c->scan.raw = line;
		c->scan.raw_len = len;
		c->line.len = 0;
		buf_putc(&c->src, '"');
		event_write_key(&c->line, &c->scan, ACK_KEY, c->src.data, c->src.len);
		out_write(c->line.data, c->line.len);
		return;
	}
	out_write(line, len);
	out_write("\n", 1);
}

/* The src of the next line: set c->src to '"' + position (emit closes it). */
static void
src_begin(struct consumer *c)
{
	c->src.len = 0;
	buf_putc(&c->src, '"');
}

static void
ack_ignored(const char *src, size_t n)
{
	char *text = xstrndup(src, n);

	log_warn("not an acknowledgement of what this reader reads; ignored", LOG_STR("ack", text));
	free(text);
}

/* ---- Kafka ---- */

/* Stores offset + 1 of each partition's newest acknowledged line, in one
 * call per batch of acks read. A partition no longer ours fails (_STATE):
 * its new owner reads it. */
static void
kafka_store_acked(struct consumer *c)
{
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

static void
kafka_on_ack(void *arg, const char *src, size_t n)
{
	struct consumer *c = arg;
	char topic[256];
	int32_t p;
	int64_t off;

	if (ack_parse_kafka_src(src, n, topic, sizeof(topic), &p, &off) < 0 ||
	    strcmp(topic, c->topic) != 0) {
		ack_ignored(src, n);
		return;
	}
	struct part *pt = part_of(c, p);
	if (off > pt->acked)
		pt->acked = off;
}

/* Reads the acks that came and stores what they moved. */
static void
kafka_read_acks(struct consumer *c)
{
	ack_source_read(&c->acks, kafka_on_ack, c);
	kafka_store_acked(c);
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
	if (c->group != NULL) {
		src_begin(c);
		ack_put_kafka_src(&c->src, c->topic, m->partition, m->offset);
	}
	emit(c, m->payload, m->len);
	if (c->group != NULL && !c->acking)
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
		if (c->acking && n % 256 == 0)
			kafka_read_acks(c);
		if (m == NULL) {
			out_flush();
			if (c->acking)
				kafka_read_acks(c);
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

/* ---- file log ---- */

/* The position the group has finished: acknowledged, or handed over. */
static int64_t
file_done(const struct consumer *c)
{
	return c->acking ? c->parts[0].acked : c->parts[0].emitted;
}

/* Records the group's position; a failure is logged, the next try may do. */
static void
cursor_save(struct consumer *c)
{
	if (cursor_write(&c->cursor, file_done(c)) < 0)
		log_error("cannot write the group's cursor", LOG_STR("path", c->cursor.path),
		    LOG_STR("error", strerror(errno)));
}

static void
file_on_ack(void *arg, const char *src, size_t n)
{
	struct consumer *c = arg;
	int64_t off;

	if (ack_parse_file_src(src, n, &off) < 0) {
		ack_ignored(src, n);
		return;
	}
	if (off > c->parts[0].acked && off <= c->pos)
		c->parts[0].acked = off;
}

/* Opens the log, waiting for it to appear; -1 at a stop. */
static int
file_open(const char *path)
{
	int fd, said = 0;

	while ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (!said)
			log_info("cannot open the log yet; waiting for it", LOG_STR("path", path),
			    LOG_STR("error", strerror(errno)));
		said = 1;
		if (sig_sleep_ms(POLL_MS) < 0)
			return -1;
	}
	return fd;
}

/* Emits the whole lines in buf[0..*len), keeping a partial last one. */
static void
file_emit_lines(struct consumer *c, struct buf *in)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(in->data + start, '\n', in->len - start)) != NULL) {
		size_t len = (size_t)(nl - (in->data + start));
		c->pos += (int64_t)len + 1;
		if (c->group != NULL) {
			src_begin(c);
			buf_put_int(&c->src, c->pos);
		}
		emit(c, in->data + start, len);
		c->parts[0].emitted = c->pos;
		start += len + 1;
	}
	memmove(in->data, in->data + start, in->len - start);
	in->len -= start;
}

static void
file_run(struct consumer *c, const char *path, const char *from, int64_t cursor)
{
	struct buf in = { 0 };
	struct stat sb;

	if ((c->fd = file_open(path)) < 0)
		return;
	if (cursor >= 0)
		c->pos = cursor;
	else if (strcmp(from, "end") == 0 && fstat(c->fd, &sb) == 0)
		c->pos = sb.st_size;
	if (fstat(c->fd, &sb) == 0 && sb.st_size < c->pos) {
		log_warn("the log is shorter than the group's cursor; reading it from the start",
		    LOG_STR("path", path), LOG_INT("cursor", c->pos));
		c->pos = 0;
	}
	c->parts[0] = (struct part){ 1, 0, c->pos, c->pos, c->pos };
	while (!sig_stopping() && out_status() == 0) {
		buf_reserve(&in, READ_CHUNK);
		ssize_t n = pread(c->fd, in.data + in.len, READ_CHUNK, c->pos + (int64_t)in.len);
		if (n < 0 && errno != EINTR)
			die(EX_IOERR, "cannot read the log", LOG_STR("path", path), LOG_STR("error", strerror(errno)));
		if (n > 0) {
			in.len += (size_t)n;
			file_emit_lines(c, &in);
		} else if (n == 0) {
			if (c->stop_at_end)
				break;
			out_flush();
			if (c->acking)
				ack_source_wait(&c->acks, POLL_MS);
			else
				sig_sleep_ms(POLL_MS);
		}
		if (c->acking)
			ack_source_read(&c->acks, file_on_ack, c);
		if (c->group != NULL && timefmt_monotonic_ms() >= c->next_commit_ms) {
			cursor_save(c);
			c->next_commit_ms = timefmt_monotonic_ms() + COMMIT_MS;
		}
	}
	buf_free(&in);
}

/* ---- the end ---- */

static int
all_acked(const struct consumer *c)
{
	for (int32_t i = 0; i < c->nparts; i++)
		if (c->parts[i].emitted > c->parts[i].acked)
			return 0;
	return 1;
}

/* With stdout closed, the acks of what was emitted: until all came, every
 * sink closed the FIFO, or STOP_WAIT_MS passed. */
static void
wait_for_acks(struct consumer *c, void (*on_ack)(void *, const char *, size_t))
{
	int64_t until = timefmt_monotonic_ms() + STOP_WAIT_MS;

	ack_source_last_call(&c->acks);
	for (;;) {
		int open = ack_source_read(&c->acks, on_ack, c);
		if (c->rk != NULL)
			kafka_store_acked(c);
		if (!open || all_acked(c))
			break;
		int64_t left = until - timefmt_monotonic_ms();
		if (left <= 0) {
			log_warn("stopped before every line emitted was acknowledged; "
			    "they come again to the next reader of the group");
			break;
		}
		ack_source_wait(&c->acks, left < POLL_MS ? (int)left : POLL_MS);
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
	const char *ack_path, *brokers, *log_path, *from;
	static struct consumer c;
	int status;

	log_init(argv[0]);
	opt_parse(argc, argv, opts, OPT_COUNT(opts), "-b brokers -t topic | -l file", 0);
	ack_path = opts[ACK].value;
	brokers = opts[BROKERS].value;
	c.topic = opts[TOPIC].value;
	log_path = opts[LOG].value;
	from = opts[FROM].value;
	c.group = opts[GROUP].value;
	c.stop_at_end = opts[EXIT].on;
	if ((log_path == NULL) == (brokers == NULL || c.topic == NULL)) {
		log_error("want -b and -t for Kafka, or -l for a file log");
		opt_usage_error();
	}
	if (ack_path != NULL && c.group == NULL) {
		log_error("--ack needs --group: only a group keeps a position to move");
		opt_usage_error();
	}
	opt_checked();
	c.acking = ack_path != NULL;
	if (c.acking && ack_source_open(&c.acks, ack_path) < 0)
		die(errno == EINVAL ? EX_USAGE : EX_IOERR, "cannot use the acknowledgement FIFO",
		    LOG_STR("option", opts[ACK].source), LOG_STR("path", ack_path), LOG_STR("error", strerror(errno)));
	sig_init();
	if (log_path != NULL) {
		if (c.group != NULL && cursor_open(&c.cursor, c.group) < 0)
			die(errno == EINVAL ? EX_USAGE : errno == EBADMSG ? EX_DATAERR : EX_IOERR,
			    errno == EINVAL ? "bad group name (want letters, digits, '.', '_', '-')" :
			    "cannot use the group's cursor file", LOG_STR("group", c.group),
			    LOG_STR("path", c.cursor.path ? c.cursor.path : ""), LOG_STR("error", strerror(errno)));
		part_of(&c, 0);
		file_run(&c, log_path, from, c.group != NULL ? c.cursor.saved : -1);
	} else {
		kafka_open(&c, brokers, from, opts[CONFIG].value, opts[PROPERTY].list,
		    opts[PROPERTY].count);
		kafka_run(&c);
	}
	free(opts[PROPERTY].list);
	out_flush();
	status = out_status() > 0 ? out_status() : 0;
	/* The stages after us see the end of their input and finish. */
	close(STDOUT_FILENO);
	if (c.acking)
		wait_for_acks(&c, log_path != NULL ? file_on_ack : kafka_on_ack);
	if (c.rk != NULL)
		close_bounded(c.rk);
	if (c.cursor.path != NULL)
		cursor_save(&c);
	if (c.fd > 0)
		close(c.fd);
	if (c.acking)
		ack_source_close(&c.acks);
	cursor_free(&c.cursor);
	free(c.parts);
	buf_free(&c.line);
	buf_free(&c.src);
	json_members_free(&c.scan.members);
	return status;
}
