/* host.c — the host side of the card's life: open it (arena, MYO copy, control channel, the
 * process), stop it, destroy it, and the default card of the keyword layer.
 *
 * Offload calls are call.c's; the card process itself (descriptors, signals, argv, reaping) is
 * proc.c's; MYO set-up is myo.c's.
 */
#define _GNU_SOURCE
#include "host.h"
#include "cilk_offload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the card's life ---------------------------------------------------------------------- */

int off_card_alive(off_card *c) { return c && !c->proc.dead && !off_proc_reap(&c->proc, WNOHANG); }

static int host_open_channel(off_card *c)
{
    c->ctl_fd = memfd_create("dnn-ctl", MFD_CLOEXEC);
    if (c->ctl_fd < 0 || ftruncate(c->ctl_fd, sizeof(off_ctl)) != 0)
        return off_fail(OFF_ESYS, "cannot create the control channel: %s", strerror(errno));
    c->ctl = mmap(NULL, sizeof(off_ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, c->ctl_fd, 0);
    if (c->ctl == MAP_FAILED) {
        c->ctl = NULL;
        return off_fail(OFF_ESYS, "cannot map the control channel: %s", strerror(errno));
    }
    c->ctl->magic = OFF_CTL_MAGIC;
    c->ctl->bus.link = c->link;
    return OFF_OK;
}

static int host_start_card(off_card *c)
{
    off_proc_start s = {c->cfg.card_exe, c->cfg.threads, c->cpus, c->cfg.card_memory, c->arena, c->ctl_fd,
                        c->myo_host.copy_fd, c->myo_host.shared_fd};
    int rc = off_proc_spawn(&c->proc, &s);
    return rc == OFF_OK ? off_proc_wait_ready(&c->proc, c->ctl, c->cfg.card_exe) : rc;
}

/* The arena of a new card: a fresh one, or (shared) one mapped already, by the host alone or by
 * another card. */
static int host_arena_for(off_card *c, off_arena *shared)
{
    if (!shared) return off_arena_create(c->cfg.arena_bytes ? c->cfg.arena_bytes : (64u << 20), &c->arena);
    if (c->myo) return off_fail(OFF_EARG, "cards share one arena only with shared coherence, not MYO");
    c->arena = off_arena_retain(shared);
    return OFF_OK;
}

int off_card_open(const off_config *cfg, off_card **out) { return off_card_open_device(cfg, -1, NULL, out); }

int off_card_open_device(const off_config *cfg, int device, off_card *arena_of, off_card **out)
{
    if (!arena_of) return off_card_open_in_arena(cfg, device, NULL, out);
    *out = NULL;
    if (arena_of->myo) return off_fail(OFF_EARG, "cards share one arena only with shared coherence, not MYO");
    if (!arena_of->arena || arena_of->arena->fd < 0)
        return off_fail(OFF_EARG, "card %d is stopped: its arena can no longer be shared", arena_of->device);
    return off_card_open_in_arena(cfg, device, arena_of->arena, out);
}

int off_arena_open(size_t bytes, off_arena **out) { return off_arena_create(bytes ? bytes : (64u << 20), out); }

void off_arena_close(off_arena *a)
{
    if (a) off_arena_release(a);
}

int off_card_open_in_arena(const off_config *cfg, int device, off_arena *arena, off_card **out)
{
    off_clear_error();
    *out = NULL;
    if (cfg->threads < 1 || cfg->threads > 1024)
        return off_fail(OFF_EARG, "card threads must be between 1 and 1024, got %d", cfg->threads);
    if (!cfg->card_exe || !*cfg->card_exe) return off_fail(OFF_EARG, "no card executable given");
    off_card *c = calloc(1, sizeof *c);
    if (!c) return off_fail(OFF_ESYS, "out of host memory");
    c->cfg = *cfg;
    c->cfg.card_exe = strdup(cfg->card_exe);
    c->ctl_fd = -1;
    c->device = -1;
    off_proc_init(&c->proc);
    off_myo_host_init(&c->myo_host);
    snprintf(c->cpus, sizeof c->cpus, "%s", cfg->cpus ? cfg->cpus : "");
    int rc;
    cpu_set_t set;
    if (c->cpus[0] && (rc = off_parse_cpus(c->cpus, &set)) != OFF_OK) goto fail;
    if ((rc = off_link_parse(cfg->link, &c->link)) != OFF_OK) goto fail;
    if ((rc = off_myo_parse_coherence(cfg->coherence, &c->myo, &c->myo_policy)) != OFF_OK) goto fail;
    if ((c->device = off_devices_claim(c, device)) < 0) {
        rc = device >= 0 ? off_fail(OFF_EARG, "card %d is open already (or past the %d cards a host may have)",
                                    device, OFF_MAX_DEVICES)
                         : off_fail(OFF_EARG, "a host may have at most %d cards", OFF_MAX_DEVICES);
        goto fail;
    }
    if ((rc = host_arena_for(c, arena)) != OFF_OK) goto fail;
    if ((rc = host_open_channel(c)) != OFF_OK) goto fail;
    if (c->myo && (rc = off_myo_host_open(&c->myo_host, c->arena, c->myo_policy, cfg->race_check, &c->ctl->bus)) != OFF_OK)
        goto fail;
    if ((rc = host_start_card(c)) != OFF_OK) goto fail;
    off_host_lanes_init(c);
    if (!off_default_card()) off_set_default_card(c);
    *out = c;
    return OFF_OK;
fail:;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", off_last_error());
    off_card_destroy(c);
    return off_fail(rc, "%s", msg);
}

int off_card_stop(off_card *c)
{
    if (!c) return OFF_OK;
    off_devices_drop(c); /* a stopped card is no device: its number is free again */
    if (off_proc_running(&c->proc) && c->ctl) {
        atomic_store(&c->ctl->quit, 1);
        for (int i = 0; i < OFF_LANES; i++) off_futex_bump(&c->ctl->lane[i].ev_card, &c->ctl->lane[i].card_sleeping);
    }
    off_proc_stop(&c->proc, off_in_flight(c) ? 0.05 : 1.0);
    for (int i = 0; i < OFF_LANES; i++) c->lane[i].in_flight = 0;
    off_myo_set_bus(c->myo_host.view, NULL); /* the bus lives in the control block */
    if (c->ctl) munmap(c->ctl, sizeof(off_ctl));
    c->ctl = NULL;
    if (c->ctl_fd >= 0) close(c->ctl_fd);
    c->ctl_fd = -1;
    if (c->arena && c->arena->fd >= 0 && c->arena->refs == 1) {
        /* The host mapping keeps the memory until off_card_destroy; the descriptor can go
         * (unless a sibling card maps the arena too: a card opened later may still want it). */
        close(c->arena->fd);
        c->arena->fd = -1;
    }
    return OFF_OK;
}

void off_card_destroy(off_card *c)
{
    if (!c) return;
    if (c == off_default_card()) off_set_default_card(NULL);
    off_card_stop(c);
    off_myo_host_close(&c->myo_host); /* before the arena goes: brings back the card's pages */
    off_arena_release(c->arena);
    free((char *)c->cfg.card_exe);
    free(c);
}

/* The card _Cilk_offload and _Offload_shared_malloc use on the host: the first one opened. */
static off_card *default_card;

off_card *off_default_card(void) { return default_card; }

void off_set_default_card(off_card *c)
{
    default_card = c;
    off_current_arena = c ? c->arena : NULL;
}

int off_card_pid(const off_card *c) { return off_proc_pid(&c->proc); }
int off_card_device(const off_card *c) { return c->device; }
off_arena *off_card_arena(off_card *c) { return c->arena; }
const char *off_card_link_name(const off_card *c) { return c->link.name; }
void off_card_myo_stats(off_card *c, off_myo_stats *out) { off_myo_host_stats(&c->myo_host, out); }

