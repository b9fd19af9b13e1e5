/* local.c — host mode: run a registered kernel in this process, with no card at all.
 * The same kernel code as on the card, so host mode is the reference every mode must match. */
#include "internal.h"

#include <omp.h>
#include <stdio.h>
#include <string.h>

int off_run_local(const char *kernel, const off_arg *args, int nargs, int threads, double *result,
                  int *nresult)
{
    off_clear_error();
    const off_kernel *k = off_kernel_find(kernel);
    if (!k) return off_fail(OFF_ENOKERNEL, "no kernel named '%s' is registered", kernel);
    int rc = off_kernel_check_args(k, args, nargs);
    if (rc != OFF_OK) return rc;
    off_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.threads = threads > 0 ? threads : 1;
    omp_set_num_threads(ctx.threads);
    rc = off_kernel_invoke(k, &ctx, args, nargs);
    if (rc != OFF_OK)
        return off_fail(rc, "kernel '%s' failed: %s", kernel, ctx.error[0] ? ctx.error : "error");
    int n = ctx.nresult < 0 ? 0 : ctx.nresult > OFF_MAX_RESULTS ? OFF_MAX_RESULTS : ctx.nresult;
    if (result && n) memcpy(result, ctx.result, sizeof(double) * (size_t)n);
    if (nresult) *nresult = n;
    return OFF_OK;
}
