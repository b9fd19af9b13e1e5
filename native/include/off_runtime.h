/* off_runtime.h — the emulated coprocessor card: runtime API. Not Intel's offload.h (which
 * programs include as <offload.h>): this is dnn's own runtime, under a name of its own.
 *
 * The card is a separate process (dnn-card) started by the host. Two kinds of memory reach it:
 *   - the shared arena (Cilk shared memory): one memfd mapped at the SAME virtual address in
 *     host and card; pointers into it are valid on both sides (implicit offload);
 *   - card-private buffers filled over the explicit channel (LEO in/out/inout/nocopy), keyed by
 *     host address, which may stay resident across calls (alloc_if / free_if).
 * Kernels are compiled into both the card and the host library and found by name.
 *
 * Every function returns OFF_OK (0) or an OFF_E* code; off_last_error() then holds one readable
 * line (thread-local). Nothing here prints or exits. This layer knows nothing of neural networks.
 */
#ifndef DNN_OFF_RUNTIME_H
#define DNN_OFF_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------------------------ */
enum {
    OFF_OK = 0,
    OFF_EARG = 1,      /* bad argument: unknown kernel signature, pointer the card cannot use */
    OFF_EARENA = 2,    /* shared arena full */
    OFF_ECARDMEM = 3,  /* card-private memory capacity exceeded */
    OFF_EDIED = 4,     /* the card process exited or was killed */
    OFF_EKERNEL = 5,   /* the kernel returned an error */
    OFF_ENOKERNEL = 6, /* no kernel of that name in the registry */
    OFF_ESYS = 7,      /* a system call failed */
    OFF_EBUSY = 8,     /* an asynchronous call is still in flight */
    OFF_ESTART = 9,    /* the card could not be started */
    OFF_ETIMEDOUT = 10 /* off_wait_for: not finished yet (not an error; call again) */
};

/* ---- tunables ---------------------------------------------------------------------------- */
#ifndef OFF_MAX_ARGS
#define OFF_MAX_ARGS 16 /* arguments of one offload call */
#endif
#ifndef OFF_MAX_XFERS
#define OFF_MAX_XFERS 64 /* in/out/inout/nocopy clauses of one offload call */
#endif
#ifndef OFF_MAX_RESULTS
#define OFF_MAX_RESULTS 16 /* doubles a kernel may return in the reply (loss, accuracy, ...) */
#endif
#ifndef OFF_MAX_BUFFERS
#define OFF_MAX_BUFFERS 1024 /* live card-private buffers */
#endif

/* ---- arguments --------------------------------------------------------------------------- */
typedef enum { OFF_ARG_I64 = 'i', OFF_ARG_F64 = 'd', OFF_ARG_PTR = 'p' } off_arg_kind;

typedef struct {
    int32_t kind; /* off_arg_kind */
    int32_t pad;
    union {
        int64_t i;
        double d;
        void *p;
    } v;
} off_arg;

static inline off_arg off_i64(int64_t i) { off_arg a = {OFF_ARG_I64, 0, {0}}; a.v.i = i; return a; }
static inline off_arg off_f64(double d) { off_arg a = {OFF_ARG_F64, 0, {0}}; a.v.d = d; return a; }
static inline off_arg off_ptr(const void *p) { off_arg a = {OFF_ARG_PTR, 0, {0}}; a.v.p = (void *)p; return a; }

/* ---- kernels ----------------------------------------------------------------------------- */
typedef struct off_ctx {
    int threads;                       /* worker threads of this card */
    double result[OFF_MAX_RESULTS];    /* returned to the host in the reply */
    int nresult;                       /* how many of result[] are set */
    char error[256];                   /* set by off_kernel_fail */
} off_ctx;

typedef int (*off_kernel_fn)(off_ctx *ctx, const off_arg *args, int nargs);

typedef struct off_kernel {
    const char *name;
    const char *params; /* "name:kind,name:kind" with kind i (int64), d (double), p (pointer) */
    off_kernel_fn fn;
} off_kernel;

/* Register a kernel in the registry compiled into card and host library:
 *   OFF_KERNEL(axpy, "n:i,a:d,x:p,y:p") { ... args[0].v.i ... return OFF_OK; }
 * The body receives (off_ctx *ctx, const off_arg *args, int nargs); arguments were checked
 * against params before the body runs. */
#define OFF_KERNEL(fname, params_)                                                              \
    static int fname(off_ctx *ctx, const off_arg *args, int nargs);                            \
    __attribute__((used, section("off_kernels"), aligned(sizeof(void *))))                      \
    static const off_kernel off_kernel_entry_##fname = {#fname, params_, fname};               \
    static int fname(off_ctx *ctx __attribute__((unused)), const off_arg *args __attribute__((unused)), \
                     int nargs __attribute__((unused)))

/* A kernel reports failure: sets ctx->error and returns OFF_EKERNEL. */
int off_kernel_fail(off_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same from any code a kernel runs, on any of its threads, with no ctx at hand (a
 * _Cilk_shared function started by _Cilk_offload): the call fails with this message once the
 * kernel returns, whatever it returns. The first message wins. Outside a kernel it only sets
 * off_last_error(). Returns OFF_EKERNEL. */
int off_raise(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Run kernel k: what card and host mode both do (off_raise'd errors turn into OFF_EKERNEL). */
int off_kernel_invoke(const off_kernel *k, off_ctx *ctx, const off_arg *args, int nargs);

const off_kernel *off_kernel_find(const char *name);
int off_kernel_count(void);
const off_kernel *off_kernel_at(int i);
/* Checks args against the kernel's params; names the first bad argument. */
int off_kernel_check_args(const off_kernel *k, const off_arg *args, int nargs);
/* Name of parameter i ("arg3" when the kernel does not name it); buf >= 64 bytes. */
const char *off_kernel_param_name(const off_kernel *k, int i, char *buf, size_t len);

/* Run a kernel in this process (host mode: no card at all). */
int off_run_local(const char *kernel, const off_arg *args, int nargs, int threads, double *result,
                  int *nresult);

/* ---- the shared arena -------------------------------------------------------------------- */
typedef struct off_arena off_arena;

/* NULL when it cannot: off_last_error_code() says why (OFF_EARENA full, OFF_EARG bad alignment). */
void *off_arena_malloc(off_arena *a, size_t size, size_t align);
int off_arena_free(off_arena *a, void *p);
int off_arena_contains(const off_arena *a, const void *p, size_t len);
void *off_arena_base(const off_arena *a);
size_t off_arena_size(const off_arena *a);
size_t off_arena_used(const off_arena *a);      /* bytes in live blocks, headers included */
size_t off_arena_peak(const off_arena *a);
size_t off_arena_largest_free(off_arena *a);
int off_arena_check(off_arena *a);              /* walks every block; OFF_OK when consistent */

/* ---- the card ---------------------------------------------------------------------------- */
typedef struct off_card off_card;

typedef struct {
    int threads;           /* worker threads on the card (>= 1) */
    const char *cpus;      /* CPU list the card pins itself to ("0", "0-1", "0,2"), NULL = any */
    const char *link;      /* "none", a profile name ("knc-pcie", ...), or "BW_GBs,LAT_us" */
    size_t arena_bytes;    /* size of the shared arena */
    size_t card_memory;    /* capacity of card-private memory in bytes, 0 = unlimited */
    const char *card_exe;  /* path of the dnn-card executable */
    /* Cilk shared memory: "shared" (one copy, coherent for free; NULL means this) or "myo" /
     * "myo-on-demand" / "myo-on-acquire" (each side its own copy, kept coherent page by page at
     * offload boundaries, as Intel's MYO did on the Xeon Phi). */
    const char *coherence;
    int race_check;        /* myo: report pages written by both sides between two boundaries */
    double card_timeout;   /* seconds a live card may go without a heartbeat before the host kills it
                            * and reports it dead (stopped, hung); 0 = never */
} off_config;

int off_card_open(const off_config *cfg, off_card **out);
/* Card number `device` (< 0: the lowest free number) of this host. With arena_of, the new card
 * maps that card's arena instead of a new one: several cards, each its own process, card memory,
 * control channel and link clock, all seeing the one Cilk shared memory (shared coherence only).
 * The arena stays mapped in the host until the last card that maps it is destroyed. */
int off_card_open_device(const off_config *cfg, int device, off_card *arena_of, off_card **out);
/* Cilk shared memory before any card: an arena mapped in this process alone (bytes 0: 64 MB), so
 * a program allocates its shared data at start and starts a card only when it first offloads.
 * A card opened with off_card_open_in_arena maps it (shared coherence only); off_arena_close
 * drops this process's hold, and the mapping goes with the last card that maps it. */
int off_arena_open(size_t bytes, off_arena **out);
void off_arena_close(off_arena *a);
int off_card_open_in_arena(const off_config *cfg, int device, off_arena *arena, off_card **out);
int off_card_device(const off_card *c);  /* its device number */
int off_number_of_devices(void);         /* cards open in this process */
off_card *off_device(int n);             /* card number n, NULL when none is open under it */
/* What target(mic:n) / _Cilk_offload_to(n) lower to: kernel on card n, synchronously; OFF_EARG
 * (naming n) when no card n is open. */
int off_offload_to(int n, const char *kernel, const off_arg *args, int nargs);
/* Stops the card process (asks, then kills) and releases the control channel. The arena stays
 * mapped in the host until off_card_destroy, so host views of shared memory stay valid. */
int off_card_stop(off_card *c);
void off_card_destroy(off_card *c); /* stops if needed, unmaps the arena, frees c */
int off_card_pid(const off_card *c);
int off_card_alive(off_card *c);
off_arena *off_card_arena(off_card *c);
const char *off_card_link_name(const off_card *c);

/* MYO coherence counters (all zero with shared coherence). */
typedef struct {
    uint64_t pages_to_card, pages_from_card; /* pages moved each way */
    uint64_t faults_host, faults_card;       /* page faults taken (write tracking and fetches) */
    uint64_t races;                          /* same-page conflicts found (race_check) */
    double coherence_s;                      /* time spent keeping the copies coherent */
    double transfer_s;                       /* of which moving pages (copies and the link model) */
    int32_t tracking_host, tracking_card;    /* how writes are tracked: 1 mprotect + SIGSEGV, 2 userfaultfd */
} off_myo_stats;
void off_card_myo_stats(off_card *c, off_myo_stats *out);

/* ---- explicit transfers (LEO clauses) ---------------------------------------------------- */
enum {
    OFF_IN = 1,        /* host -> card before the kernel */
    OFF_OUT = 2,       /* card -> host after the kernel */
    OFF_INOUT = 3,
    OFF_NOCOPY = 4,    /* no data moves; the card buffer is used as it is */
    OFF_ALLOC_IF = 8,  /* allocate the card buffer at this call */
    OFF_FREE_IF = 16   /* free the card buffer after this call */
};

typedef struct {
    const void *host;  /* host address: the key of the card buffer */
    uint64_t bytes;
    uint32_t flags;    /* OFF_IN/OUT/INOUT/NOCOPY | OFF_ALLOC_IF | OFF_FREE_IF */
    uint32_t pad;
    const void *into;  /* into(): key of the card buffer (in: that receives; out: that is read); NULL = host */
} off_xfer;

/* ---- calls ------------------------------------------------------------------------------- */
typedef struct {
    uint64_t calls;
    uint64_t bytes_to_card, bytes_from_card;
    uint64_t transfers;       /* arrays moved (each costs one link latency) */
    double transfer_s;        /* elapsed transfer time, link model included */
    double transfer_real_s;   /* what the copies really took */
    double transfer_model_s;  /* what the link model says they take */
    double compute_s;         /* kernel time on the card */
    double wait_s;            /* host time blocked waiting for the card */
    double wall_s;            /* host time from call to return */
    /* MYO's share of the totals above (pages that crossed under --coherence myo, and the time
     * they took); bytes_to_card, bytes_from_card and transfer_s include it. */
    uint64_t myo_bytes_to_card, myo_bytes_from_card;
    double myo_transfer_s;
} off_stats;

/* Synchronous offload: transfers in, run kernel, transfers out. kernel may be NULL
 * (offload_transfer). result/nresult may be NULL. `last` receives this call's stats. */
int off_call(off_card *c, const char *kernel, const off_arg *args, int nargs, const off_xfer *xf,
             int nxf, double *result, int *nresult);
/* Asynchronous: posts the call and streams the in-data; returns at once after that with a
 * signal. Out-data move when the host waits. One call in flight per card. */
int off_call_async(off_card *c, const char *kernel, const off_arg *args, int nargs,
                   const off_xfer *xf, int nxf, uint64_t *signal);
/* #pragma offload_transfer ... signal(): transfers with no kernel, on the card's DMA lane, so
 * they cross while a call's kernel runs (double buffering). Streams the in-data and returns
 * with a signal; out-data move at the wait. One such transfer in flight per card, besides the
 * call; neither may touch a card buffer the other one uses (OFF_EBUSY). */
int off_transfer_async(off_card *c, const off_xfer *xf, int nxf, uint64_t *signal);
/* Waits for the call of `signal` at most timeout_s (< 0: forever). OFF_ETIMEDOUT: not yet. */
int off_wait_for(off_card *c, uint64_t signal, double timeout_s, double *result, int *nresult);
int off_wait(off_card *c, uint64_t signal, double *result, int *nresult);
int off_in_flight(const off_card *c);

void off_card_stats(const off_card *c, off_stats *total, off_stats *last);
void off_card_reset_stats(off_card *c);
/* Bytes of card-private memory in use and at peak. */
void off_card_memory(off_card *c, uint64_t *used, uint64_t *peak, uint64_t *buffers);

/* ---- link model -------------------------------------------------------------------------- */
typedef struct {
    char name[48];
    double bandwidth;  /* bytes per second; 0 = unlimited ("none") */
    double latency;    /* seconds of fixed cost per transfer */
} off_link;

int off_link_parse(const char *spec, off_link *out);
double off_link_time(const off_link *l, uint64_t bytes); /* modelled seconds for one transfer */
const char *off_link_profile_name(int i);                /* NULL past the last profile */

/* ---- misc -------------------------------------------------------------------------------- */
const char *off_last_error(void);
/* The code that came with off_last_error()'s message, for calls that return no code (a NULL
 * pointer); OFF_OK when none. Thread-local, as the message. */
int off_last_error_code(void);
double off_now(void); /* CLOCK_MONOTONIC seconds: the same clock in host and card */

#ifdef __cplusplus
}
#endif
#endif
