/* casino-describe: add a human sentence, "description", to every event. */
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "describe/describe.h"
#include "log.h"
#include "opt.h"
#include "stage.h"

enum { REJECT };
static struct opt opts[] = { [REJECT] = OPT_REJECT };

int
main(int argc, char **argv)
{
	struct json_members player = { 0 };
	struct buf value = { 0 };
	struct stage st;
	struct event ev;

	log_init(argv[0]);
	opt_parse(argc, argv, opts, OPT_COUNT(opts), NULL, 0);
	opt_checked();
	stage_open(&st, opts[REJECT].value);
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
