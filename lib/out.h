/* out: the buffered stdout of a filter; its errors are sticky: EPIPE ends
 * the tool quietly (exit 0), any other write error with exit 74. */
#ifndef CASINO_OUT_H
#define CASINO_OUT_H
#include <stddef.h>

#include "buf.h"
#include "fdwrite.h" /* fd_write_all, for the writers that include out.h */

void out_write(const void *p, size_t n);
/* The buffer itself, for a writer that builds a record in place instead of
 * copying it in: append to it, then call out_commit (which flushes once a
 * chunk is full). After stdout failed, what was appended is dropped. */
struct buf *out_buf(void);
void out_commit(void);
/* Write what is buffered; 0, or -1 once stdout has failed. */
int out_flush(void);
/* fn(arg) runs after each flush that wrote everything buffered so far (an
 * acknowledging sink acknowledges the lines written by then). */
void out_on_flush(void (*fn)(void *arg), void *arg);
/* 0 while stdout works, -1 after EPIPE, 74 after any other error. */
int out_status(void);
/* Mark the end of one record (an event) written with out_write, and how
 * many records reached stdout whole: a flush that failed loses its records
 * from this count, so a tool can say what it really wrote. */
void out_record_end(void);
unsigned long long out_records_written(void);

#endif
