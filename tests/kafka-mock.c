/* kafka-mock: a Kafka-protocol cluster on loopback for the transport tests
 * and bench, built from librdkafka's mock API (rdkafka_mock.h).
 *
 *   kafka-mock [-b BROKERS] [-p PARTITIONS] [-c FIFO] [TOPIC ...]
 *
 * Starts BROKERS (default 3) mock brokers listening on 127.0.0.1 on ports
 * the kernel picks, creates each TOPIC with PARTITIONS partitions (default
 * 4; other topics are auto-created on first use with librdkafka's default),
 * prints the bootstrap list "127.0.0.1:P1,127.0.0.1:P2,..." and a newline on
 * stdout, and serves until SIGTERM or SIGINT, or until its stdin reaches EOF
 * when stdin is a pipe or socket (so a test that dies takes the cluster
 * with it). Messages live in memory only. Exit 0 on a clean stop, 64 on a
 * usage error, 69 if the cluster cannot be created.
 *
 * With -c FIFO (created if missing) the cluster misbehaves on command, one
 * command a line written to FIFO (doc/design.md, "Every event counted
 * once"; librdkafka's rdkafka_mock.h does the work):
 *   down ID                 broker ID (1..BROKERS) closes its connections and refuses new ones
 *   up ID                   and serves again
 *   leader TOPIC PART ID    partition PART of TOPIC gets broker ID as its leader
 *   errors API COUNT ERROR  the next COUNT requests of API (produce, fetch,
 *                           offsetcommit) on any broker fail with ERROR, a
 *                           librdkafka error name without RD_KAFKA_RESP_ERR_
 *                           (e.g. NOT_LEADER_FOR_PARTITION) or its number
 *   rtt ID MS               broker ID answers MS milliseconds late (0: on time)
 * Each command done is said on stderr as "kafka-mock: done: COMMAND", a
 * bad one as "kafka-mock: bad command: COMMAND"; the cluster goes on. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int
parse_count(const char *s, const char *what)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < 1 || n > 1000) {
		fprintf(stderr, "kafka-mock: bad %s: %s\n", what, s);
		exit(64);
	}
	return (int)n;
}

/* 1 when stdin is a pipe or socket whose EOF should stop us. */
static int
stdin_is_lifeline(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) != 0)
		return 0;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

/* Kafka's API keys (librdkafka's are in a header it does not install). */
static const struct { const char *name; int16_t key; } apis[] = {
	{ "produce", 0 }, { "fetch", 1 }, { "offsetcommit", 8 },
};

/* An error by its librdkafka name (without RD_KAFKA_RESP_ERR_) or number;
 * 0 when it is neither. */
static rd_kafka_resp_err_t
error_named(const char *s)
{
	const struct rd_kafka_err_desc *descs;
	size_t n;
	char *end;
	long code = strtol(s, &end, 10);

	if (end != s && *end == '\0')
		return (rd_kafka_resp_err_t)code;
	rd_kafka_get_err_descs(&descs, &n);
	for (size_t i = 0; i < n; i++)
		if (descs[i].name != NULL && strcmp(descs[i].name, s) == 0)
			return descs[i].code;
	return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* One command line; 0 when done, -1 when it is not one. */
static int
command(rd_kafka_mock_cluster_t *cluster, char *line)
{
	char *word[5];
	int n = 0;

	for (char *save = NULL, *w = strtok_r(line, " \t", &save); w != NULL && n < 5;
	    w = strtok_r(NULL, " \t", &save))
		word[n++] = w;
	if (n == 2 && strcmp(word[0], "down") == 0)
		return rd_kafka_mock_broker_set_down(cluster, atoi(word[1])) ? -1 : 0;
	if (n == 2 && strcmp(word[0], "up") == 0)
		return rd_kafka_mock_broker_set_up(cluster, atoi(word[1])) ? -1 : 0;
	if (n == 3 && strcmp(word[0], "rtt") == 0)
		return rd_kafka_mock_broker_set_rtt(cluster, atoi(word[1]), atoi(word[2])) ? -1 : 0;
	if (n == 4 && strcmp(word[0], "leader") == 0)
		return rd_kafka_mock_partition_set_leader(cluster, word[1], atoi(word[2]),
		    atoi(word[3])) ? -1 : 0;
	if (n == 4 && strcmp(word[0], "errors") == 0) {
		rd_kafka_resp_err_t err = error_named(word[3]);
		int count = atoi(word[2]);
		for (size_t i = 0; i < sizeof(apis) / sizeof(*apis); i++) {
			if (strcmp(apis[i].name, word[1]) != 0 || err == 0 || count < 1 || count > 1000)
				continue;
			rd_kafka_resp_err_t *errs = malloc((size_t)count * sizeof(*errs));
			if (errs == NULL)
				return -1;
			for (int k = 0; k < count; k++)
				errs[k] = err;
			rd_kafka_mock_push_request_errors_array(cluster, apis[i].key, (size_t)count, errs);
			free(errs);
			return 0;
		}
	}
	return -1;
}

/* The whole lines read on the control FIFO, each run as a command. */
static void
control_read(rd_kafka_mock_cluster_t *cluster, int fd, char *pending, size_t *len, size_t cap)
{
	ssize_t r = read(fd, pending + *len, cap - 1 - *len);
	char *start = pending, *nl;

	if (r <= 0)
		return;
	*len += (size_t)r;
	pending[*len] = '\0';
	while ((nl = strchr(start, '\n')) != NULL) {
		*nl = '\0';
		char text[1024];
		snprintf(text, sizeof(text), "%s", start);
		if (*start != '\0')
			fprintf(stderr, "kafka-mock: %s: %s\n",
			    command(cluster, start) == 0 ? "done" : "bad command", text);
		start = nl + 1;
	}
	*len -= (size_t)(start - pending);
	memmove(pending, start, *len);
	if (*len == cap - 1) /* a line too long for any command */
		*len = 0;
}

/* Waits for a stop signal or EOF on the lifeline, running the commands
 * that come on control_fd (-1: none). */
static void
serve(int watch_stdin, rd_kafka_mock_cluster_t *cluster, int control_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = watch_stdin ? STDIN_FILENO : -1, .events = POLLIN },
		{ .fd = control_fd, .events = POLLIN },
	};
	char scratch[512], pending[1024];
	size_t pending_len = 0;

	while (!stop_requested) {
		/* The timeout bounds the window between the flag check and poll. */
		int n = poll(pfd, 2, 500);
		if (n < 0 && errno != EINTR) {
			perror("kafka-mock: poll");
			return;
		}
		if (n > 0 && (pfd[0].revents & (POLLIN | POLLHUP))) {
			ssize_t r = read(STDIN_FILENO, scratch, sizeof(scratch));
			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
				return;
		}
		if (n > 0 && (pfd[1].revents & POLLIN))
			control_read(cluster, control_fd, pending, &pending_len, sizeof(pending));
	}
}

int
main(int argc, char **argv)
{
	int brokers = 3, partitions = 4, opt, control_fd = -1;
	const char *control = NULL;
	char errstr[512];
	sigset_t stop_signals, old_mask;
	struct sigaction sa;

	while ((opt = getopt(argc, argv, "b:p:c:h")) != -1) {
		switch (opt) {
		case 'c': control = optarg; break;
		case 'b': brokers = parse_count(optarg, "broker count"); break;
		case 'p': partitions = parse_count(optarg, "partition count"); break;
		case 'h':
			printf("usage: kafka-mock [-b BROKERS] [-p PARTITIONS] [-c FIFO] [TOPIC ...]\n");
			return 0;
		default:
			fprintf(stderr, "usage: kafka-mock [-b BROKERS] [-p PARTITIONS] [-c FIFO] [TOPIC ...]\n");
			return 64;
		}
	}

	/* librdkafka's threads inherit this mask, so only the main thread
	 * ever runs the handler. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask) != 0) {
		fprintf(stderr, "kafka-mock: cannot block signals\n");
		return 70;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
		perror("kafka-mock: sigaction");
		return 70;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Read and write: the FIFO never reaches EOF as writers come and go. */
	if (control != NULL && ((mkfifo(control, 0600) < 0 && errno != EEXIST) ||
	    (control_fd = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)) {
		fprintf(stderr, "kafka-mock: %s: %s\n", control, strerror(errno));
		return 64;
	}

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "kafka-mock: %s\n", errstr);
		return 70;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		fprintf(stderr, "kafka-mock: %s\n", errstr);
		return 69;
	}
	rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
	if (cluster == NULL) {
		fprintf(stderr, "kafka-mock: cannot create the mock cluster\n");
		rd_kafka_destroy(rk);
		return 69;
	}
	for (int i = optind; i < argc; i++) {
		int replicas = brokers < 3 ? brokers : 3;
		rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, argv[i], partitions, replicas);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "kafka-mock: topic %s: %s\n", argv[i], rd_kafka_err2str(err));
			rd_kafka_mock_cluster_destroy(cluster);
			rd_kafka_destroy(rk);
			return 69;
		}
	}

	int failed = printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster)) < 0 || fflush(stdout) != 0;
	if (!failed && pthread_sigmask(SIG_SETMASK, &old_mask, NULL) == 0)
		serve(stdin_is_lifeline(), cluster, control_fd);

	rd_kafka_mock_cluster_destroy(cluster);
	rd_kafka_destroy(rk);
	return failed ? 74 : 0;
}
