/* internal.h — what host and card share inside the runtime: the control block, the staging
 * ring of the explicit channel, the arena header, and small helpers. Not a public API. */
#ifndef DNN_OFFLOAD_INTERNAL_H
#define DNN_OFFLOAD_INTERNAL_H

#include "off_runtime.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

/* Staging window of the explicit channel: a ring of slots in shared memory. The sender fills
 * slot i+1 while the receiver drains slot i, each on its own core (a bounce buffer, as DMA). */
#ifndef OFF_RING_SLOTS
#define OFF_RING_SLOTS 4
#endif
#ifndef OFF_SLOT_BYTES
#define OFF_SLOT_BYTES (512u * 1024u)
#endif

/* How long a waiter spins on a shared flag before sleeping on the futex: a futex round trip
 * costs ~15 us here, spinning well under 1 us. */
#ifndef OFF_SPIN_SECONDS
#define OFF_SPIN_SECONDS 100e-6
#endif

/* How long the card's call lane spins after serving a call before it sleeps (the "linger"):
 * waking a sleeping card costs 17-42 us on this KVM guest against ~1.5 us when it still spins.
 * Where it goes (tools/bench_wake.c, a bare futex wake between two processes): to a sleeper on
 * the other vCPU, the FUTEX_WAKE itself takes ~10-12 us (it sends the halted vCPU an interrupt,
 * and the guest does not poll before halting: haltpoll.guest_halt_poll_ns=0) and the sleeper
 * runs ~25-37 us after it; on the waker's own CPU ~3 and ~5-7 us. The cost is bounded: at most
 * this much card CPU time per call, nothing once it sleeps. DNN_CARD_LINGER_S in the card's
 * environment overrides it (0: spin OFF_SPIN_SECONDS, as every other waiter). */
#ifndef OFF_CARD_LINGER_SECONDS
#define OFF_CARD_LINGER_SECONDS 2e-3
#endif

#define OFF_CTL_MAGIC 0x444e4e43544c3031ull /* "DNNCTL01" */
#define OFF_CARD_ARENA_FD 3
#define OFF_CARD_CTL_FD 4
#define OFF_CARD_LIFE_FD 5
#define OFF_CARD_MYO_COPY_FD 6 /* myo: the card's own copy of the arena */
#define OFF_CARD_MYO_SHARED_FD 7 /* myo: dirty maps and counters */

enum { OFF_CARD_STARTING = 0, OFF_CARD_READY = 1, OFF_CARD_FAILED = 2 };

typedef struct {
    _Atomic uint32_t full; /* 0 empty, 1 full */
    uint32_t bytes;
    char pad[56];
} off_slot_state;

typedef struct {
    off_xfer x;
    double t_start; /* sender's off_now() when the first byte of this array was written */
} off_xfer_wire;

/* One lane of the control channel: a request slot, a reply slot and a staging ring, with its own
 * futex words. Lane OFF_LANE_CALL carries offload calls (a kernel and its transfers), served by
 * the card's main thread; lane OFF_LANE_DMA carries offload_transfer requests with a signal,
 * served by the card's DMA thread, so data can cross while a kernel runs (double buffering). */
enum { OFF_LANE_CALL = 0, OFF_LANE_DMA = 1, OFF_LANES = 2 };

typedef struct {
    /* Futex words: ev_card is bumped by the host for every event the card's server of this lane
     * waits on (request, slot freed, quit); ev_host by the card (slot filled, reply). */
    _Atomic uint32_t ev_card;
    _Atomic uint32_t ev_host;
    _Atomic uint32_t card_sleeping; /* the card sleeps on ev_card: the host must futex_wake */
    _Atomic uint32_t host_sleeping;

    /* request (written by the host before req_seq is bumped) */
    _Atomic uint64_t req_seq;
    char kernel[64];
    int32_t nargs, nxf;
    off_arg args[OFF_MAX_ARGS];
    off_xfer_wire xf[OFF_MAX_XFERS];

    _Atomic uint64_t kernel_done_seq; /* the kernel has run; out-data follows */

    /* reply (written by the card before rep_seq is set to req_seq) */
    _Atomic uint64_t rep_seq;
    int32_t status;
    int32_t nresult;
    double result[OFF_MAX_RESULTS];
    char error[320];
    double compute_s;
    double in_real_s, in_model_s, in_elapsed_s; /* measured on the card (receiver of in-data) */

    /* the staging ring */
    off_slot_state slot[OFF_RING_SLOTS];
    char data[OFF_RING_SLOTS][OFF_SLOT_BYTES] __attribute__((aligned(64)));
} off_lane;

#define OFF_BEAT_S 0.05 /* seconds between the card's heartbeats */

/* The modelled link: one bus per direction, as a PCIe link is, shared by both lanes and by every
 * MYO page move, in both processes (it lives in the control block). A transfer reserves the bus
 * from when it was sent, but not before the previous reservation ends (link.c). */
enum { OFF_BUS_TO_CARD = 0, OFF_BUS_FROM_CARD = 1 };
typedef struct {
    off_link link;
    _Atomic int64_t busy_until_ns[2]; /* per direction: end of the last reservation, off_now() ns */
} off_bus;

/* Reserves the bus of `dir` for `bytes` sent at t_start; returns when they have crossed in the
 * model (t_start itself when the link is "none") and, in *model_s, the modelled time alone. */
double off_bus_reserve(off_bus *b, int dir, double t_start, uint64_t bytes, double *model_s);

typedef struct {
    uint64_t magic;
    _Atomic uint32_t quit;
    _Atomic int32_t card_state; /* start-up: the host waits on lane[OFF_LANE_CALL].ev_host */
    int32_t card_pid;
    char start_error[256];
    /* Bumped by the card's beat thread every OFF_BEAT_S, whatever its kernels do; a card alive but
     * silent (SIGSTOP, a hung machine) stops beating, and the host's waits notice (call.c). */
    _Atomic uint64_t heartbeat;
    /* The beat thread's id: a silence is the card's fault only if that thread was not merely
     * waiting for a CPU (a loaded machine delays its beats; a stopped card's thread is not
     * runnable at all). 0 until the thread runs. */
    _Atomic int32_t beat_tid;
    off_bus bus;
    /* card memory as of the last reply of either lane */
    _Atomic uint64_t mem_used, mem_peak, mem_buffers;
    off_lane lane[OFF_LANES];
} off_ctl;

/* The key of a transfer's card buffer: the host address it names, or into()'s when given. */
static inline const void *off_xfer_key(const off_xfer *x) { return x->into ? x->into : x->host; }

/* ---- arena ---- */
struct off_arena {
    void *base;
    size_t size;
    int fd;
    int owner; /* the host created it and may unmap it */
    int refs;  /* host: the cards that map it (sibling cards of off_card_open_device share one) */
};
int off_arena_create(size_t size, off_arena **out);       /* host: memfd + map anywhere */
int off_arena_attach(int fd, void *addr, size_t size, off_arena **out); /* card: same address */
int off_arena_format(off_arena *a);                       /* host: lay the allocator out */
void off_arena_release(off_arena *a);                     /* drops one reference; the last unmaps */
static inline off_arena *off_arena_retain(off_arena *a) { a->refs++; return a; }

/* ---- futex waiting ---- */
/* Wait until *word != seen, spinning first; timeout_s < 0 = forever. 1 = changed, 0 = timeout */
int off_futex_wait(_Atomic uint32_t *word, uint32_t seen, _Atomic uint32_t *sleeping_flag,
                   double timeout_s);
/* The same, spinning spin_s seconds (not OFF_SPIN_SECONDS) before it sleeps. */
int off_futex_wait_spin(_Atomic uint32_t *word, uint32_t seen, _Atomic uint32_t *sleeping_flag,
                        double timeout_s, double spin_s);
void off_futex_bump(_Atomic uint32_t *word, _Atomic uint32_t *sleeping_flag);

/* ---- CPU lists ("0", "0-1", "0,2") ---- */
int off_parse_cpus(const char *spec, cpu_set_t *set);

/* ---- errors ---- */
int off_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void off_clear_error(void);


/* ---- the host's table of open cards, by device number (devices.c) ---- */
#ifndef OFF_MAX_DEVICES
#define OFF_MAX_DEVICES 64
#endif
int off_devices_claim(off_card *c, int want); /* want < 0: the lowest free number; returns it, or -1 */
void off_devices_drop(off_card *c);

#endif
