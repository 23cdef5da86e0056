/* casino-describe: add a human sentence, "description", to every event. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "describe/describe.h"
#include "log.h"
#include "opt.h"
#include "stage.h"

static const char usage_text[] = "casino-describe [-r file]";

static _Noreturn void
usage(void)
{
	printf("usage: %s\n"
	    "  -r, --reject FILE   append rejected lines to FILE (CASINO_REJECT)\n"
	    "  -h, --help          this text\n"
	    "  -V, --version       the version\n", usage_text);
	exit(0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "reject", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reject_arg = NULL, *reject, *src;
	struct json_members player = { 0 };
	struct buf value = { 0 };
	struct stage st;
	struct event ev;
	int c;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "r:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': reject_arg = optarg; break;
		case 'h': usage(); break;
		case 'V': opt_version(); break;
		default: opt_usage_error(usage_text);
		}
	}
	opt_done(argc, argv, 0, usage_text);
	reject = opt_pick("--reject", reject_arg, "CASINO_REJECT", NULL, &src);

	stage_open(&st, reject);
	while (stage_next(&st, &ev)) {
		value.len = 0;
		describe_event(&value, &ev, 1, &player);
		stage_emit_key(&st, &ev, "description", value.data, value.len);
		event_free(&ev);
	}
	json_members_free(&player);
	buf_free(&value);
	return stage_finish(&st);
}
