/* kafkaconf: librdkafka settings shared by casino-produce and
 * casino-consume: one prop=value (-X), a kcat -F file (prop=value lines,
 * blank lines and # comments skipped), and an error callback that logs
 * librdkafka's errors in our format. A bad setting or an unreadable file is
 * a usage error (exit 64): for option handling in main only. */
#ifndef CASINO_KAFKACONF_H
#define CASINO_KAFKACONF_H
#include <stddef.h>

#include <librdkafka/rdkafka.h>

void kafka_conf_set(rd_kafka_conf_t *conf, const char *prop, size_t len);
void kafka_conf_file(rd_kafka_conf_t *conf, const char *path);
/* Our defaults (librdkafka's own log off: on_error reports the same), then
 * the caller's file and -X settings, which win; logs errors via error_cb. */
void kafka_conf_apply(rd_kafka_conf_t *conf, const char *file, const char **props, int nprops);

#endif
