/* proc.h — the card process seen from the host: start it, wait until it is ready, reap it, stop
 * it (see proc.c). Knows descriptors, signals, argv and environment; nothing of offload calls. */
#ifndef DNN_OFFLOAD_PROC_H
#define DNN_OFFLOAD_PROC_H

#include "internal.h"

#include <sys/types.h>

typedef struct {
    pid_t pid;       /* > 0 while it may run; -pid once reaped (kept for messages, never signalled) */
    int life_fd;     /* the host's end of the lifeline: the card exits when it reads EOF */
    int dead;
    char death[200]; /* how it ended: "exited with status 3", "killed by signal 9 (Killed)" */
} off_proc;

/* What the card is started with. Descriptors are the host's; the card gets them at fixed
 * numbers (OFF_CARD_*_FD). */
typedef struct {
    const char *exe;
    int threads;
    const char *cpus;       /* "" = any */
    size_t card_memory;
    const off_arena *arena; /* its fd, address and size */
    int ctl_fd;
    int myo_copy_fd, myo_shared_fd; /* both -1 without MYO coherence */
} off_proc_start;

void off_proc_init(off_proc *p);
/* Starts the card in its own process group with default signal handling; OFF_ESTART when the
 * executable cannot run. */
int off_proc_spawn(off_proc *p, const off_proc_start *s);
/* Waits until the card says it is ready (OFF_OK) or could not start, died, or took 30 s. */
int off_proc_wait_ready(off_proc *p, off_ctl *ctl, const char *exe);
/* 1 when the card is gone (reaped now or before), 0 while it runs; options as waitpid's. */
int off_proc_reap(off_proc *p, int options);
int off_proc_running(const off_proc *p); /* started and not yet found dead */
/* 1 when thread tid of the card is runnable (running, or waiting for a CPU: state R in
 * /proc), 0 when it is not (sleeping, stopped, traced, in the kernel), -1 when that cannot be
 * read (no /proc, no such thread). */
int off_proc_thread_runnable(const off_proc *p, int tid);
int off_proc_pid(const off_proc *p);
/* Gives a card already asked to quit grace_s to exit, then kills it; closes the lifeline. */
void off_proc_stop(off_proc *p, double grace_s);

#endif
