/* A reducer of the program's own, declared with CILK_C_DECLARE_REDUCER and initialised with
 * CILK_C_INIT_REDUCER (its reduce and identity functions), beside OPAND and OPOR. */
#include <stdio.h>
#include <cilk/cilk.h>
#include <cilk/reducer.h>
#include <cilk/reducer_opand.h>
#include <cilk/reducer_opor.h>

typedef struct {
    long count;
    long sum;
    int lo, hi;
} stats;

static void stats_identity(void *key, void *v)
{
    (void)key;
    stats *s = v;
    s->count = 0, s->sum = 0, s->lo = 1 << 30, s->hi = -(1 << 30);
}

static void stats_reduce(void *key, void *left, void *right)
{
    (void)key;
    stats *l = left, *r = right;
    l->count += r->count;
    l->sum += r->sum;
    if (r->lo < l->lo) l->lo = r->lo;
    if (r->hi > l->hi) l->hi = r->hi;
}

int main(void)
{
    CILK_C_DECLARE_REDUCER(stats) st =
        CILK_C_INIT_REDUCER(stats, stats_reduce, stats_identity, 0, {0, 0, 1 << 30, -(1 << 30)});
    CILK_C_REDUCER_OPAND(all, uint, ~0u);
    CILK_C_REDUCER_OPOR(any, uint, 0u);
    CILK_C_REGISTER_REDUCER(st);
    CILK_C_REGISTER_REDUCER(all);
    CILK_C_REGISTER_REDUCER(any);
    cilk_for (int i = 0; i < 1000; i++) {
        int v = (i * 37) % 1001 - 500;
        stats *s = &REDUCER_VIEW(st);
        s->count++;
        s->sum += v;
        if (v < s->lo) s->lo = v;
        if (v > s->hi) s->hi = v;
        REDUCER_VIEW(all) &= (unsigned)(i | 1);
        REDUCER_VIEW(any) |= 1u << (i % 8);
    }
    CILK_C_UNREGISTER_REDUCER(st);
    CILK_C_UNREGISTER_REDUCER(all);
    CILK_C_UNREGISTER_REDUCER(any);
    stats s = REDUCER_VIEW(st);
    long sum = 0;
    int lo = 1 << 30, hi = -(1 << 30);
    for (int i = 0; i < 1000; i++) {
        int v = (i * 37) % 1001 - 500;
        sum += v, lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
    printf("count %ld sum %s lo %s hi %s and %u or %u\n", s.count, s.sum == sum ? "ok" : "wrong",
           s.lo == lo ? "ok" : "wrong", s.hi == hi ? "ok" : "wrong", REDUCER_VIEW(all), REDUCER_VIEW(any));
    return 0;
}
