/* call.c — offload calls from the host: check a call before anything moves, post it, stream its
 * in-data, wait, receive its out-data, and keep the counters. The alloc_if / free_if rules are
 * resident.c's, shared with the card.
 */
#define _GNU_SOURCE
#include "host.h"

#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>

/* ---- the lanes and the card's death ------------------------------------------------------- */

int off_in_flight(const off_card *c)
{
    return c->lane[OFF_LANE_CALL].in_flight || c->lane[OFF_LANE_DMA].in_flight;
}

static int call_died(off_card *c)
{
    int pid = off_proc_pid(&c->proc);
    const host_lane *call = &c->lane[OFF_LANE_CALL];
    /* A request in flight stays so: its wait, on either lane, reports this death too. */
    if (call->kernel[0]) /* the last kernel posted */
        return off_fail(OFF_EDIED, "the card (pid %d) died while running kernel '%s': %s", pid,
                        call->kernel, c->proc.death);
    return off_fail(OFF_EDIED, "the card (pid %d) died during a transfer: %s", pid, c->proc.death);
}

/* Silent for longer than card_timeout, as the host's clock counts, and not for want of a CPU:
 * on a loaded machine the beat thread may wait on a run queue longer than any timeout (a
 * higher-priority job on every core), which is no fault of the card. A runnable beat thread
 * restarts the count; a stopped (SIGSTOP, traced) or blocked one does not. The state is read
 * before the heartbeat is read again, so a beat that lands in between is seen. */
static int call_card_silent(off_card *c, double now)
{
    if (c->cfg.card_timeout <= 0 || now - c->beat_time <= c->cfg.card_timeout) return 0;
    int runnable = off_proc_thread_runnable(&c->proc, atomic_load(&c->ctl->beat_tid));
    if (atomic_load(&c->ctl->heartbeat) != c->beat_seen || runnable == 1) {
        c->beat_time = now;
        return 0;
    }
    return 1;
}

/* Dead, or alive but silent (call_card_silent): then it is killed, so that it is dead for
 * everything that follows, and reported as a death. */
static int call_card_check(off_card *c)
{
    if (!off_card_alive(c)) return call_died(c);
    uint64_t beat = atomic_load_explicit(&c->ctl->heartbeat, memory_order_relaxed);
    double now = off_now();
    if (beat != c->beat_seen || c->beat_time == 0) {
        c->beat_seen = beat;
        c->beat_time = now;
        return OFF_OK;
    }
    if (call_card_silent(c, now)) {
        int pid = off_proc_pid(&c->proc);
        kill(pid, SIGKILL);
        off_proc_reap(&c->proc, 0);
        snprintf(c->proc.death, sizeof c->proc.death,
                 "it stopped answering (no heartbeat for %.1f s, --card-timeout %g) and was killed",
                 now - c->beat_time, c->cfg.card_timeout);
        return call_died(c);
    }
    return OFF_OK;
}

static int call_abort_check(void *arg)
{
    host_lane *h = arg;
    if (atomic_load_explicit(&h->wire->rep_seq, memory_order_acquire) == h->seq) return OFF_EKERNEL;
    return call_card_check(h->card);
}

/* The out-data's modelled wait stops only for a dead card: the reply may land before it ends. */
static int call_card_gone(void *arg)
{
    off_card *c = arg;
    return off_card_alive(c) ? OFF_OK : call_died(c);
}

void off_host_lanes_init(off_card *c)
{
    for (int i = 0; i < OFF_LANES; i++) {
        host_lane *h = &c->lane[i];
        off_lane *L = &c->ctl->lane[i];
        h->card = c;
        h->id = i;
        h->wire = L;
        h->ring = (off_ring_end){L, 0, &L->ev_host, &L->host_sleeping, &L->ev_card, &L->card_sleeping,
                                 call_abort_check, h};
    }
}

/* ---- checking a call before anything moves ------------------------------------------------ */

/* Transfer i (no alloc_if) moves a part of the buffer an earlier transfer of this call allocates
 * (out(p[a:n] : alloc(p[0:m])) gives both): the card checks it once that buffer exists. */
static int call_inside_fresh(const off_xfer *xf, int i)
{
    const char *k = off_xfer_key(&xf[i]);
    if (xf[i].flags & OFF_ALLOC_IF) return 0;
    for (int j = 0; j < i; j++) {
        const char *b = off_xfer_key(&xf[j]);
        if ((xf[j].flags & OFF_ALLOC_IF) && k >= b && k + xf[i].bytes <= b + xf[j].bytes) return 1;
    }
    return 0;
}

static int call_check_xfers(off_card *c, const off_xfer *xf, int nxf)
{
    if (nxf < 0 || nxf > OFF_MAX_XFERS)
        return off_fail(OFF_EARG, "an offload call takes at most %d transfer clauses, got %d", OFF_MAX_XFERS, nxf);
    for (int i = 0; i < nxf; i++) {
        uint32_t dir = xf[i].flags & 7;
        const void *key = off_xfer_key(&xf[i]);
        if (dir != OFF_IN && dir != OFF_OUT && dir != OFF_INOUT && dir != OFF_NOCOPY)
            return off_fail(OFF_EARG, "transfer %d: give exactly one of in, out, inout, nocopy", i + 1);
        if (!xf[i].host) return off_fail(OFF_EARG, "transfer %d: the host address is NULL", i + 1);
        if (xf[i].into && dir != OFF_IN && dir != OFF_OUT)
            return off_fail(OFF_EARG, "transfer %d: into() goes with in() or out() only", i + 1);
        if (off_arena_contains(c->arena, xf[i].host, 1))
            return off_fail(OFF_EARG, "transfer %d: %p lies in the shared arena; shared data needs no "
                            "explicit transfer", i + 1, xf[i].host);
        if (call_inside_fresh(xf, i)) continue; /* a part of a buffer this call allocates (from its start, too) */
        for (int j = 0; j < i; j++)
            if (off_xfer_key(&xf[j]) == key)
                return off_fail(OFF_EARG, "transfers %d and %d name the same card buffer %p", j + 1, i + 1, key);
        int rc = off_resident_check(&c->resident, &xf[i], i);
        if (rc != OFF_OK) return rc;
    }
    return OFF_OK;
}

/* p lies in a card buffer one of these transfers names. */
static int call_in_transfers(const off_xfer *xf, int nxf, const void *p)
{
    for (int i = 0; i < nxf; i++) {
        const char *k = off_xfer_key(&xf[i]);
        if ((const char *)p == k || ((const char *)p > k && (const char *)p < k + xf[i].bytes)) return 1;
    }
    return 0;
}

static int call_check_args(off_card *c, const char *kernel, const off_arg *args, int nargs,
                           const off_xfer *xf, int nxf)
{
    const off_kernel *k = off_kernel_find(kernel);
    if (!k) return off_fail(OFF_ENOKERNEL, "no kernel named '%s' is registered", kernel);
    int rc = off_kernel_check_args(k, args, nargs);
    if (rc != OFF_OK) return rc;
    for (int i = 0; i < nargs; i++) {
        const void *p = args[i].v.p;
        if (args[i].kind != OFF_ARG_PTR || !p) continue;
        if (off_arena_contains(c->arena, p, 1) || call_in_transfers(xf, nxf, p) ||
            off_resident_find(&c->resident, p, 1))
            continue;
        char name[64];
        return off_fail(OFF_EARG,
                        "argument %d ('%s') of kernel '%s' is a host pointer %p outside the shared "
                        "arena [%p, %p): the card cannot see it; allocate it with "
                        "_Offload_shared_malloc (implicit) or transfer it with in/out/inout (explicit)",
                        i + 1, off_kernel_param_name(k, i, name, sizeof name), kernel, p,
                        c->arena->base, (char *)c->arena->base + c->arena->size);
    }
    return OFF_OK;
}

/* A transfer of one lane must not touch a card buffer the other lane's request in flight uses:
 * the two cross at the same time. */
static int call_clash(const off_card *c, int lane, const off_xfer *xf, int nxf)
{
    const host_lane *o = &c->lane[1 - lane];
    if (!o->in_flight) return OFF_OK;
    for (int i = 0; i < nxf; i++) {
        const char *k = off_xfer_key(&xf[i]);
        for (int j = 0; j < o->nxf; j++) {
            const char *ko = off_xfer_key(&o->xf[j]);
            if (k < ko + o->xf[j].bytes && ko < k + (xf[i].bytes ? xf[i].bytes : 1))
                return off_fail(OFF_EBUSY, "transfer %d (%p) touches a card buffer that the %s in flight "
                                "(signal %llu) is using; wait for it first", i + 1, (const void *)k,
                                lane == OFF_LANE_CALL ? "transfer" : "offload",
                                (unsigned long long)off_host_signal_of(o));
        }
    }
    return OFF_OK;
}

/* ---- posting, streaming, waiting ---------------------------------------------------------- */

static int call_post(off_card *c, int lane, const char *kernel, const off_arg *args, int nargs,
                     const off_xfer *xf, int nxf, uint64_t *signal)
{
    off_clear_error();
    if (!c || !c->ctl) return off_fail(OFF_EARG, "the card is stopped");
    if (c->proc.dead || !off_card_alive(c)) return call_died(c);
    host_lane *h = &c->lane[lane];
    if (h->in_flight)
        return off_fail(OFF_EBUSY, "an asynchronous %s (signal %llu%s%s) is still in flight; wait for it first",
                        lane == OFF_LANE_CALL ? "offload" : "transfer",
                        (unsigned long long)off_host_signal_of(h), h->kernel[0] ? ", kernel " : "",
                        h->kernel);
    if (nargs < 0 || nargs > OFF_MAX_ARGS)
        return off_fail(OFF_EARG, "an offload call takes at most %d arguments, got %d", OFF_MAX_ARGS, nargs);
    int rc = call_check_xfers(c, xf, nxf);
    if (rc == OFF_OK) rc = call_clash(c, lane, xf, nxf);
    if (rc == OFF_OK && kernel) {
        if (strlen(kernel) >= sizeof h->wire->kernel) return off_fail(OFF_EARG, "kernel name too long");
        rc = call_check_args(c, kernel, args, nargs, xf, nxf);
    }
    if (rc != OFF_OK) return rc;

    off_lane *L = h->wire;
    h->t_post = off_now();
    if (c->myo && lane == OFF_LANE_CALL) off_myo_host_release(c->myo_host.view); /* entry: the host releases */
    h->wait_s = 0;
    h->out_done = 0;
    snprintf(h->kernel, sizeof h->kernel, "%s", kernel ? kernel : "");
    if (nxf) memcpy(h->xf, xf, sizeof *xf * (size_t)nxf);
    h->nxf = nxf;

    off_ring_reset(L);
    snprintf(L->kernel, sizeof L->kernel, "%s", kernel ? kernel : "");
    L->nargs = nargs;
    if (nargs) memcpy(L->args, args, sizeof *args * (size_t)nargs);
    L->nxf = nxf;
    for (int i = 0; i < nxf; i++) {
        L->xf[i].x = xf[i];
        L->xf[i].t_start = 0;
    }
    h->seq++;
    h->in_flight = 1;
    atomic_store_explicit(&L->req_seq, h->seq, memory_order_release);
    off_futex_bump(&L->ev_card, &L->card_sleeping);

    /* In-data crosses now, while the card receives it slot by slot. */
    h->ring.index = 0;
    for (int i = 0; i < nxf; i++) {
        if (!(xf[i].flags & OFF_IN)) continue;
        L->xf[i].t_start = off_now();
        rc = off_ring_send(&h->ring, xf[i].host, xf[i].bytes);
        if (rc == OFF_EKERNEL) break; /* the card refused the call: its reply says why */
        if (rc != OFF_OK) return rc;
    }
    *signal = off_host_signal_of(h);
    return OFF_OK;
}

int off_call_async(off_card *c, const char *kernel, const off_arg *args, int nargs,
                   const off_xfer *xf, int nxf, uint64_t *signal)
{
    return call_post(c, OFF_LANE_CALL, kernel, args, nargs, xf, nxf, signal);
}

int off_transfer_async(off_card *c, const off_xfer *xf, int nxf, uint64_t *signal)
{
    return call_post(c, OFF_LANE_DMA, NULL, NULL, 0, xf, nxf, signal);
}

/* Blocks until *word reaches the lane's request (or the reply does), or the deadline. */
static int call_wait_reply_or(host_lane *h, _Atomic uint64_t *word, double deadline)
{
    off_lane *L = h->wire;
    for (;;) {
        uint32_t seen = atomic_load_explicit(&L->ev_host, memory_order_acquire);
        if (atomic_load_explicit(word, memory_order_acquire) == h->seq) return OFF_OK;
        if (atomic_load_explicit(&L->rep_seq, memory_order_acquire) == h->seq) return OFF_OK;
        int alive = call_card_check(h->card);
        if (alive != OFF_OK) return alive;
        double now = off_now();
        if (deadline >= 0 && now >= deadline) return OFF_ETIMEDOUT;
        double t = deadline >= 0 ? deadline - now : 0.02;
        double t0 = now;
        off_futex_wait(&L->ev_host, seen, &L->host_sleeping, t < 0.02 ? t : 0.02);
        h->wait_s += off_now() - t0;
    }
}

/* Once the kernel has run, out-data cross into the host's arrays, timed by the link model. Done
 * once per request: a wait that timed out before the kernel finished leaves it for the next. */
static int call_finish_out(host_lane *h, double deadline)
{
    if (h->out_done) return OFF_OK;
    off_lane *L = h->wire;
    off_link_clock_start(&h->out_clock, &h->card->ctl->bus, OFF_BUS_FROM_CARD, call_card_gone, h->card);
    int rc = call_wait_reply_or(h, &L->kernel_done_seq, deadline);
    if (rc != OFF_OK) return rc;
    for (int i = 0; i < h->nxf; i++) {
        if (!(h->xf[i].flags & OFF_OUT)) continue;
        rc = off_ring_recv(&h->ring, (void *)h->xf[i].host, h->xf[i].bytes);
        if (rc == OFF_EKERNEL) break; /* the call failed on the card: its reply says why */
        if (rc != OFF_OK) return rc;
        if ((rc = off_link_clock_arrived(&h->out_clock, L->xf[i].t_start, h->xf[i].bytes)) != OFF_OK) return rc;
    }
    h->out_done = 1;
    return OFF_OK;
}

static void call_add_stats(off_stats *t, const off_stats *s)
{
    t->myo_bytes_to_card += s->myo_bytes_to_card;
    t->myo_bytes_from_card += s->myo_bytes_from_card;
    t->myo_transfer_s += s->myo_transfer_s;
    t->calls += s->calls;
    t->bytes_to_card += s->bytes_to_card;
    t->bytes_from_card += s->bytes_from_card;
    t->transfers += s->transfers;
    t->transfer_s += s->transfer_s;
    t->transfer_real_s += s->transfer_real_s;
    t->transfer_model_s += s->transfer_model_s;
    t->compute_s += s->compute_s;
    t->wait_s += s->wait_s;
    t->wall_s += s->wall_s;
}

/* MYO traffic since the last call accounted, as stats: page moves are not tied to one call
 * (the host fetches pages when it touches them, between calls too). */
static off_stats call_myo_since(const off_card *c, off_myo_stats *now)
{
    off_stats s = {0};
    off_myo_host_stats(&c->myo_host, now);
    s.myo_bytes_to_card = 4096 * (now->pages_to_card - c->myo_counted.pages_to_card);
    s.myo_bytes_from_card = 4096 * (now->pages_from_card - c->myo_counted.pages_from_card);
    s.myo_transfer_s = now->transfer_s - c->myo_counted.transfer_s;
    s.bytes_to_card = s.myo_bytes_to_card;
    s.bytes_from_card = s.myo_bytes_from_card;
    s.transfer_s = s.myo_transfer_s;
    return s;
}

/* The reply of a finished request: its counters (into last and total), what it left resident on
 * the card, and the kernel's results. Returns the card's status. */
static int call_account(off_card *c, const host_lane *h, double *result, int *nresult)
{
    const off_lane *L = h->wire;
    off_stats s = {0};
    s.calls = 1;
    s.compute_s = L->compute_s;
    s.wait_s = h->wait_s;
    s.wall_s = off_now() - h->t_post;
    if (L->status == OFF_OK) {
        for (int i = 0; i < h->nxf; i++) {
            const off_xfer *x = &h->xf[i];
            if (x->flags & OFF_IN) s.bytes_to_card += x->bytes, s.transfers++;
            if (x->flags & OFF_OUT) s.bytes_from_card += x->bytes, s.transfers++;
        }
        off_resident_mirror_call(&c->resident, h->xf, h->nxf);
        s.transfer_real_s = L->in_real_s + h->out_clock.real_s;
        s.transfer_model_s = L->in_model_s + h->out_clock.model_s;
        s.transfer_s = L->in_elapsed_s + h->out_clock.elapsed_s;
        int n = L->nresult;
        if (result && n > 0) memcpy(result, L->result, sizeof(double) * (size_t)n);
        if (nresult) *nresult = n;
    }
    if (c->myo) {
        off_myo_stats now;
        off_stats myo = call_myo_since(c, &now);
        c->myo_counted = now;
        call_add_stats(&s, &myo);
    }
    c->last = s;
    call_add_stats(&c->total, &s);
    return L->status;
}

/* The card's error, as one line: a kernel's own failure names the kernel. */
static int call_error_reply(const host_lane *h, int status)
{
    if (h->kernel[0] && status == OFF_EKERNEL)
        return off_fail(status, "kernel '%s' failed on the card: %s", h->kernel, h->wire->error);
    return off_fail(status, "%s", h->wire->error);
}

int off_wait_for(off_card *c, uint64_t signal, double timeout_s, double *result, int *nresult)
{
    off_clear_error();
    if (!c || !c->ctl) return off_fail(OFF_EARG, "the card is stopped");
    host_lane *h = &c->lane[signal % OFF_LANES];
    if (!h->in_flight || signal / OFF_LANES != h->seq)
        return off_fail(OFF_EARG, "no offload in flight with signal %llu", (unsigned long long)signal);
    double deadline = timeout_s < 0 ? -1 : off_now() + timeout_s;
    int rc = call_finish_out(h, deadline);
    if (rc == OFF_OK) rc = call_wait_reply_or(h, &h->wire->rep_seq, -1);
    if (rc != OFF_OK) return rc;
    h->in_flight = 0;
    int coherence_rc = c->myo && h->id == OFF_LANE_CALL ? off_myo_host_acquire(c->myo_host.view) : OFF_OK;
    int status = call_account(c, h, result, nresult);
    return status != OFF_OK ? call_error_reply(h, status) : coherence_rc;
}

int off_wait(off_card *c, uint64_t signal, double *result, int *nresult)
{
    return off_wait_for(c, signal, -1, result, nresult);
}

int off_call(off_card *c, const char *kernel, const off_arg *args, int nargs, const off_xfer *xf,
             int nxf, double *result, int *nresult)
{
    uint64_t sig;
    int rc = off_call_async(c, kernel, args, nargs, xf, nxf, &sig);
    if (rc != OFF_OK) return rc;
    return off_wait(c, sig, result, nresult);
}

void off_card_stats(const off_card *c, off_stats *total, off_stats *last)
{
    if (total) {
        *total = c->total;
        off_myo_stats now;
        off_stats myo = call_myo_since(c, &now); /* pages fetched since the last call */
        if (c->myo) call_add_stats(total, &myo);
    }
    if (last) *last = c->last;
}

void off_card_reset_stats(off_card *c)
{
    memset(&c->total, 0, sizeof c->total);
    memset(&c->last, 0, sizeof c->last);
    off_myo_host_stats(&c->myo_host, &c->myo_counted);
}

void off_card_memory(off_card *c, uint64_t *used, uint64_t *peak, uint64_t *buffers)
{
    /* As of the last reply; the card is idle between calls, so this is current. */
    if (used) *used = c->ctl ? atomic_load(&c->ctl->mem_used) : 0;
    if (peak) *peak = c->ctl ? atomic_load(&c->ctl->mem_peak) : 0;
    if (buffers) *buffers = c->ctl ? atomic_load(&c->ctl->mem_buffers) : 0;
}
