/* kafka-mock: a Kafka-protocol cluster on loopback for the transport tests
 * and bench, built from librdkafka's mock API (rdkafka_mock.h).
 *
 *   kafka-mock [-b BROKERS] [-p PARTITIONS] [TOPIC ...]
 *
 * Starts BROKERS (default 3) mock brokers listening on 127.0.0.1 on ports
 * the kernel picks, creates each TOPIC with PARTITIONS partitions (default
 * 4; other topics are auto-created on first use with librdkafka's default),
 * prints the bootstrap list "127.0.0.1:P1,127.0.0.1:P2,..." and a newline on
 * stdout, and serves until SIGTERM or SIGINT, or until its stdin reaches EOF
 * when stdin is a pipe or socket (so a test that dies takes the cluster
 * with it). Messages live in memory only. Exit 0 on a clean stop, 64 on a
 * usage error, 69 if the cluster cannot be created. */
#include <errno.h>
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

/* Waits for a stop signal or EOF on the lifeline. */
static void
serve(int watch_stdin)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	char scratch[512];

	while (!stop_requested) {
		/* The timeout bounds the window between the flag check and poll. */
		int n = poll(&pfd, watch_stdin ? 1 : 0, 500);
		if (n < 0 && errno != EINTR) {
			perror("kafka-mock: poll");
			return;
		}
		if (n > 0) {
			ssize_t r = read(STDIN_FILENO, scratch, sizeof(scratch));
			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
				return;
		}
	}
}

int
main(int argc, char **argv)
{
	int brokers = 3, partitions = 4, opt;
	char errstr[512];
	sigset_t stop_signals, old_mask;
	struct sigaction sa;

	while ((opt = getopt(argc, argv, "b:p:h")) != -1) {
		switch (opt) {
		case 'b': brokers = parse_count(optarg, "broker count"); break;
		case 'p': partitions = parse_count(optarg, "partition count"); break;
		case 'h':
			printf("usage: kafka-mock [-b BROKERS] [-p PARTITIONS] [TOPIC ...]\n");
			return 0;
		default:
			fprintf(stderr, "usage: kafka-mock [-b BROKERS] [-p PARTITIONS] [TOPIC ...]\n");
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
		serve(stdin_is_lifeline());

	rd_kafka_mock_cluster_destroy(cluster);
	rd_kafka_destroy(rk);
	return failed ? 74 : 0;
}
