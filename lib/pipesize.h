/* pipesize: large pipe buffers for a stage's stdin and stdout. With the
 * kernel's 64 KiB a five-process pipeline on two cores wakes its stages
 * thousands of times per million events; 1 MiB lets each run longer.
 * pipe_size_setup reads CASINO_PIPE_SIZE once (bytes, 0 = leave the
 * kernel's size, else 4096 to 1 GiB; default 1 MiB; a bad value exits 64,
 * so call it after option parsing) and asks for that size on fds 0 and 1
 * when they are pipes. Never shrinks a pipe; where the kernel refuses
 * (above /proc/sys/fs/pipe-max-size for a non-root user, or the user's
 * pipe quota) it falls back to the allowed maximum, else keeps what it has,
 * quietly (one debug record). Returns nothing: the size is only a speed-up. */
#ifndef CASINO_PIPESIZE_H
#define CASINO_PIPESIZE_H

#define PIPE_SIZE_DEFAULT (1024 * 1024)

void pipe_size_setup(void);

#endif
