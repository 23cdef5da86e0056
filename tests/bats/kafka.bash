# The Kafka side of the suites that need a broker (delivery, transport):
# a real Kafka-protocol cluster from librdkafka's mock API (tests/kafka-mock)
# on loopback. Load after helpers (it uses bg and wait_until).
# shellcheck shell=bash

# start_cluster: three brokers with topics casino-events, casino-enriched
# and casino-events-1 to -12 (delivery's runs, one each), 4 partitions each,
# taking commands on the FIFO $T/mock.ctl (tests/kafka-mock.c), stopped
# with PIDS;
# sets BROKERS (host:port,...) and KAFKA (kafka://$BROKERS/casino-events).
# shellcheck disable=SC2034 # the suites read them
start_cluster() {
	OUT=$T/bootstrap bg kafka-mock -p 4 -c "$T/mock.ctl" casino-events casino-enriched \
		casino-events-{1..12}
	wait_until 10 test -s "$T/bootstrap"
	BROKERS=$(cat "$T/bootstrap")
	[[ $BROKERS == 127.0.0.1:*,127.0.0.1:*,127.0.0.1:* ]]
	KAFKA=kafka://$BROKERS/casino-events
}
