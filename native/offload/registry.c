/* registry.c — kernels are found by name. OFF_KERNEL places an entry in the "off_kernels"
 * section; the linker brackets that section with __start_/__stop_ symbols, so every kernel
 * compiled into the card (or the host library) is listed without a hand-kept table. */
#include "internal.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

extern const off_kernel __start_off_kernels[] __attribute__((weak));
extern const off_kernel __stop_off_kernels[] __attribute__((weak));

int off_kernel_count(void)
{
    if (!__start_off_kernels) return 0;
    return (int)(__stop_off_kernels - __start_off_kernels);
}

const off_kernel *off_kernel_at(int i)
{
    return (i >= 0 && i < off_kernel_count()) ? &__start_off_kernels[i] : NULL;
}

const off_kernel *off_kernel_find(const char *name)
{
    for (int i = 0; i < off_kernel_count(); i++)
        if (strcmp(__start_off_kernels[i].name, name) == 0) return &__start_off_kernels[i];
    return NULL;
}

/* params is "name:k,name:k"; returns the kind of parameter i, 0 past the end. */
static int registry_param_kind(const off_kernel *k, int i, const char **name, int *name_len)
{
    const char *p = k->params;
    for (int j = 0; p && *p; j++) {
        const char *colon = strchr(p, ':');
        const char *comma = strchr(p, ',');
        if (!colon || (comma && comma < colon)) return 0;
        if (j == i) {
            *name = p;
            *name_len = (int)(colon - p);
            return colon[1];
        }
        if (!comma) return 0;
        p = comma + 1;
    }
    return 0;
}

static int registry_param_count(const off_kernel *k)
{
    int n = 0;
    const char *name;
    int len;
    while (registry_param_kind(k, n, &name, &len)) n++;
    return n;
}

const char *off_kernel_param_name(const off_kernel *k, int i, char *buf, size_t len)
{
    const char *name;
    int nlen;
    if (k && registry_param_kind(k, i, &name, &nlen))
        snprintf(buf, len, "%.*s", nlen, name);
    else
        snprintf(buf, len, "arg%d", i);
    return buf;
}

static const char *registry_kind_word(int kind)
{
    return kind == OFF_ARG_PTR ? "pointer" : kind == OFF_ARG_I64 ? "integer" : "float";
}

int off_kernel_check_args(const off_kernel *k, const off_arg *args, int nargs)
{
    int want = registry_param_count(k);
    if (nargs != want)
        return off_fail(OFF_EARG, "kernel '%s' takes %d arguments (%s), got %d", k->name, want,
                        k->params, nargs);
    for (int i = 0; i < nargs; i++) {
        const char *name = "";
        int nlen = 0;
        int kind = registry_param_kind(k, i, &name, &nlen);
        if (args[i].kind != kind)
            return off_fail(OFF_EARG, "argument %d ('%.*s') of kernel '%s' must be a %s, got a %s",
                            i + 1, nlen, name, k->name, registry_kind_word(kind), registry_kind_word(args[i].kind));
    }
    return OFF_OK;
}

int off_kernel_fail(off_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
    va_end(ap);
    return OFF_EKERNEL;
}

/* One kernel runs at a time in a process (the card serves one call; host mode runs one), but
 * its OpenMP threads may all raise: the first to claim the flag writes the message. */
static off_ctx *_Atomic running;
static atomic_int raised;

int off_raise(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    off_ctx *ctx = atomic_load(&running);
    if (ctx && atomic_exchange(&raised, 1) == 0) vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
    else if (!ctx) {
        char msg[256];
        vsnprintf(msg, sizeof msg, fmt, ap);
        off_fail(OFF_EKERNEL, "%s", msg);
    }
    va_end(ap);
    return OFF_EKERNEL;
}

int off_kernel_invoke(const off_kernel *k, off_ctx *ctx, const off_arg *args, int nargs)
{
    off_ctx *outer = atomic_exchange(&running, ctx); /* a kernel run in place from a kernel */
    int outer_raised = atomic_exchange(&raised, 0);
    int rc = k->fn(ctx, args, nargs);
    if (rc == OFF_OK && atomic_load(&raised)) rc = OFF_EKERNEL;
    atomic_store(&running, outer);
    atomic_store(&raised, outer_raised);
    return rc;
}
