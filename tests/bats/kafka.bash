# The Kafka side of the suites that need a broker (delivery, transport):
# a real Kafka-protocol cluster from librdkafka's mock API (tests/kafka-mock)
# on loopback. Load after helpers (it uses bg and wait_until).
# shellcheck shell=bash

# start_cluster: three brokers with topics casino-events, casino-enriched
# and casino-events-1 to -5 (delivery's runs, one each), 4 partitions each,
# stopped with PIDS;
# sets BROKERS (host:port,...) and KAFKA (kafka://$BROKERS/casino-events).
# shellcheck disable=SC2034 # the suites read them
start_cluster() {
	OUT=$T/bootstrap bg kafka-mock -p 4 casino-events casino-enriched \
		casino-events-1 casino-events-2 casino-events-3 casino-events-4 casino-events-5
	wait_until 10 test -s "$T/bootstrap"
	BROKERS=$(cat "$T/bootstrap")
	[[ $BROKERS == 127.0.0.1:*,127.0.0.1:*,127.0.0.1:* ]]
	KAFKA=kafka://$BROKERS/casino-events
}
