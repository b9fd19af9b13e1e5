/* cilk/reducer.h — Cilk Plus reducers in C (CILK_C_DECLARE_REDUCER, CILK_C_INIT_REDUCER,
 * REDUCER_VIEW, CILK_C_REGISTER_REDUCER / UNREGISTER) for programs built with dnn-cc. dnn.cilkpp
 * reads this header with the program (its macros expand in the program's text).
 *
 * Cilk's workers are OpenMP threads here, and each thread updates a view of its own
 * (REDUCER_VIEW). The views are merged into the current thread's, in thread order, wherever
 * no spawned task is left unfinished: after a _Cilk_sync or a _Cilk_for, and at UNREGISTER;
 * so the value read after the parallel work is the reduction of everything. Reductions whose
 * operation is associative and commutative (all of reducer_opadd.h, ...max.h, ...) give Cilk's
 * result; one that is not commutative may see its views combined in another order.
 */
#ifndef DNN_CILK_REDUCER_H
#define DNN_CILK_REDUCER_H

/* struct __cilkpp_reducer_base, the list of registered reducers and the merge are in the C
 * dnn.cilkpp puts around every program (templates/prelude.c.in), as sync points merge too. */

/* .value is the first view (Intel's reducers had a member of that name, which programs read
 * after the parallel work: the merged value is there once no parallel region is running) */
#define CILK_C_DECLARE_REDUCER(T)                                                                  \
    struct {                                                                                       \
        struct __cilkpp_reducer_base base;                                                         \
        union {                                                                                    \
            T value;                                                                               \
            T view[__CILKPP_VIEWS];                                                                \
        };                                                                                         \
    }
#define CILK_C_INIT_REDUCER(T, reduce, identity, destroy, ...) \
    {{0, (reduce), (identity), (destroy), 0, sizeof(T), {1}}, {__VA_ARGS__}}
#define REDUCER_VIEW(obj) ((obj).view[__cilkpp_reducer_slot(&(obj).base, (char *)(obj).view)])
#define CILK_C_REGISTER_REDUCER(obj) __cilkpp_reducer_register(&(obj).base, (char *)(obj).view)
#define CILK_C_UNREGISTER_REDUCER(obj) __cilkpp_reducer_unregister(&(obj).base)
#define __CILK_C_REDUCER_VIEW(obj) REDUCER_VIEW(obj)

/* the destroy function of a view that owns nothing, as Intel's programs pass it */
__attribute__((unused)) static void __cilkrts_hyperobject_noop_destroy(void *key, void *view)
{
    (void)key, (void)view;
}

/* this thread's view, made the identity the first time the thread touches it; outside any
 * parallel region, the merge of all views */
static inline int __cilkpp_reducer_slot(struct __cilkpp_reducer_base *r, char *views)
{
    if (!r->registered) return 0; /* before REGISTER and after UNREGISTER: the one value */
    int t = omp_get_thread_num() % __CILKPP_VIEWS;
    r->views = views;
    if (omp_get_level() == 0) __cilkpp_reducer_merge(r);
    if (!r->used[t]) {
        r->identity(r, views + t * r->size);
        r->used[t] = 1;
    }
    return t;
}

static inline void __cilkpp_reducer_register(struct __cilkpp_reducer_base *r, char *views)
{
    r->views = views;
    r->used[0] = 1;
    r->registered = 1;
    r->next = __cilkpp_reducers;
    __cilkpp_reducers = r;
}

static inline void __cilkpp_reducer_unregister(struct __cilkpp_reducer_base *r)
{
    __cilkpp_reducer_merge(r); /* into this thread's view: moved to the first, where it stays */
    int t = omp_get_thread_num() % __CILKPP_VIEWS;
    if (t != 0) {
        __builtin_memcpy(r->views, r->views + t * r->size, r->size);
        r->used[t] = 0;
    }
    r->registered = 0;
    for (struct __cilkpp_reducer_base **p = &__cilkpp_reducers; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
}

#endif
