/* cilk/reducer_ops.h — the reducers Cilk Plus defined for C's arithmetic types, each
 * CILK_C_REDUCER_<OP>(name, tn, v) declaring and initialising `name` (see reducer.h):
 * OPADD, OPMUL, OPAND, OPOR, OPXOR, MAX, MIN, MAX_INDEX, MIN_INDEX, and their types
 * CILK_C_REDUCER_<OP>_TYPE(tn) (for pointers to a reducer). tn names the type as Cilk's headers
 * did: char, uchar, schar, short, ushort, int, uint, unsigned, long, ulong, longlong, ulonglong,
 * float, double, longdouble, size_t, wchar_t.
 *
 * CILK_C_REDUCER_MAX_CALC(r, v) / MIN_CALC keep the larger / smaller of the view and v;
 * CILK_C_REDUCER_MAX_INDEX_CALC(r, i, v) / MIN_INDEX_CALC also keep i, and the view is a struct
 * { ptrdiff_t index; value; }. Equal extremes: a view keeps the first it saw (Intel's rule);
 * views merged keep the smaller index, so a loop over ascending i reports the first, as the
 * serial program does. */
#ifndef DNN_CILK_REDUCER_OPS_H
#define DNN_CILK_REDUCER_OPS_H

#include <cilk/reducer.h>
#include <stddef.h>
#include <stdint.h>

typedef char __cilkpp_rt_char;
typedef unsigned char __cilkpp_rt_uchar;
typedef signed char __cilkpp_rt_schar;
typedef short __cilkpp_rt_short;
typedef unsigned short __cilkpp_rt_ushort;
typedef int __cilkpp_rt_int;
typedef unsigned int __cilkpp_rt_uint;
typedef unsigned int __cilkpp_rt_unsigned;
typedef long __cilkpp_rt_long;
typedef unsigned long __cilkpp_rt_ulong;
typedef long long __cilkpp_rt_longlong;
typedef unsigned long long __cilkpp_rt_ulonglong;
typedef float __cilkpp_rt_float;
typedef double __cilkpp_rt_double;
typedef long double __cilkpp_rt_longdouble;
typedef unsigned long __cilkpp_rt_size_t;
typedef wchar_t __cilkpp_rt_wchar_t;

/* the identity and the combination of one operation on one type */
#define __CILKPP_OP(op, tn, ident, combine)                                                          \
    __attribute__((unused)) static void __cilkpp_##op##_identity_##tn(void *k, void *v)               \
    {                                                                                              \
        (void)k;                                                                                   \
        *(__cilkpp_rt_##tn *)v = (ident);                                                          \
    }                                                                                              \
    __attribute__((unused)) static void __cilkpp_##op##_reduce_##tn(void *k, void *l, void *r)        \
    {                                                                                              \
        (void)k;                                                                                   \
        __cilkpp_rt_##tn *a = l, b = *(__cilkpp_rt_##tn *)r;                                        \
        *a = combine;                                                                              \
    }

#define __CILKPP_DECLARE_OP(OP, op, name, tn, v)                                                     \
    __cilkpp_reducer_##tn name = CILK_C_INIT_REDUCER(                                              \
        __cilkpp_rt_##tn, __cilkpp_##op##_reduce_##tn, __cilkpp_##op##_identity_##tn, 0, v)

/* the index reducers of one type: views {index, value}; an identity view has no index yet
 * (PTRDIFF_MAX), so it loses every tie */
#define __CILKPP_INDEX_OPS(tn, lo, hi)                                                                \
    typedef struct {                                                                               \
        ptrdiff_t index;                                                                           \
        __cilkpp_rt_##tn value;                                                                    \
    } __cilkpp_index_view_##tn;                                                                    \
    typedef CILK_C_DECLARE_REDUCER(__cilkpp_index_view_##tn) __cilkpp_index_reducer_##tn;          \
    __CILKPP_INDEX_OP(max_index, tn, lo, >)                                                        \
    __CILKPP_INDEX_OP(min_index, tn, hi, <)
#define __CILKPP_INDEX_OP(op, tn, ident, better)                                                     \
    __attribute__((unused)) static void __cilkpp_##op##_identity_##tn(void *k, void *v)               \
    {                                                                                              \
        (void)k;                                                                                   \
        __cilkpp_index_view_##tn *w = v;                                                           \
        w->index = PTRDIFF_MAX, w->value = (ident);                                                \
    }                                                                                              \
    __attribute__((unused)) static void __cilkpp_##op##_reduce_##tn(void *k, void *l, void *r)        \
    {                                                                                              \
        (void)k;                                                                                   \
        __cilkpp_index_view_##tn *a = l, *b = r;                                                   \
        if (b->value better a->value || (b->value == a->value && b->index < a->index)) *a = *b;    \
    }
#define __CILKPP_DECLARE_INDEX(op, name, tn, v)                                                      \
    __cilkpp_index_reducer_##tn name = CILK_C_INIT_REDUCER(__cilkpp_index_view_##tn,               \
        __cilkpp_##op##_reduce_##tn, __cilkpp_##op##_identity_##tn, 0, {0, (v)})
#define __CILKPP_INDEX_CALC(r, i, v, better)                                                           \
    do {                                                                                           \
        __typeof__(REDUCER_VIEW(r)) *__cilkpp_w = &REDUCER_VIEW(r);                                \
        __typeof__(__cilkpp_w->value) __cilkpp_x = (v);                                            \
        if (__cilkpp_x better __cilkpp_w->value) __cilkpp_w->index = (i), __cilkpp_w->value = __cilkpp_x; \
    } while (0)
#define __CILKPP_CALC(r, v, better)                                                                  \
    do {                                                                                           \
        __typeof__(REDUCER_VIEW(r)) *__cilkpp_w = &REDUCER_VIEW(r);                                \
        __typeof__(*__cilkpp_w) __cilkpp_x = (v);                                                  \
        if (__cilkpp_x better *__cilkpp_w) *__cilkpp_w = __cilkpp_x;                               \
    } while (0)

#define __CILKPP_INT_OPS(tn, lo, hi)                                                                  \
    typedef CILK_C_DECLARE_REDUCER(__cilkpp_rt_##tn) __cilkpp_reducer_##tn;                        \
    __CILKPP_INDEX_OPS(tn, lo, hi)                                                                 \
    __CILKPP_OP(opadd, tn, 0, *a + b) __CILKPP_OP(opmul, tn, 1, *a * b)                             \
    __CILKPP_OP(opand, tn, ~(__cilkpp_rt_##tn)0, *a & b) __CILKPP_OP(opor, tn, 0, *a | b)           \
    __CILKPP_OP(opxor, tn, 0, *a ^ b) __CILKPP_OP(max, tn, lo, *a > b ? *a : b)                      \
    __CILKPP_OP(min, tn, hi, *a < b ? *a : b)
#define __CILKPP_FLOAT_OPS(tn)                                                                        \
    typedef CILK_C_DECLARE_REDUCER(__cilkpp_rt_##tn) __cilkpp_reducer_##tn;                        \
    __CILKPP_INDEX_OPS(tn, -INFINITY, INFINITY)                                                    \
    __CILKPP_OP(opadd, tn, 0, *a + b) __CILKPP_OP(opmul, tn, 1, *a * b)                             \
    __CILKPP_OP(max, tn, -INFINITY, *a > b ? *a : b) __CILKPP_OP(min, tn, INFINITY, *a < b ? *a : b)

__CILKPP_INT_OPS(char, CHAR_MIN, CHAR_MAX)
__CILKPP_INT_OPS(uchar, 0, UCHAR_MAX)
__CILKPP_INT_OPS(schar, SCHAR_MIN, SCHAR_MAX)
__CILKPP_INT_OPS(short, SHRT_MIN, SHRT_MAX)
__CILKPP_INT_OPS(ushort, 0, USHRT_MAX)
__CILKPP_INT_OPS(int, INT_MIN, INT_MAX)
__CILKPP_INT_OPS(uint, 0, UINT_MAX)
__CILKPP_INT_OPS(unsigned, 0, UINT_MAX)
__CILKPP_INT_OPS(long, LONG_MIN, LONG_MAX)
__CILKPP_INT_OPS(ulong, 0, ULONG_MAX)
__CILKPP_INT_OPS(longlong, LLONG_MIN, LLONG_MAX)
__CILKPP_INT_OPS(ulonglong, 0, ULLONG_MAX)
__CILKPP_INT_OPS(size_t, 0, ULONG_MAX)
__CILKPP_INT_OPS(wchar_t, WCHAR_MIN, WCHAR_MAX)
__CILKPP_FLOAT_OPS(float)
__CILKPP_FLOAT_OPS(double)
__CILKPP_FLOAT_OPS(longdouble)

#define CILK_C_REDUCER_OPADD(name, tn, v) __CILKPP_DECLARE_OP(OPADD, opadd, name, tn, v)
#define CILK_C_REDUCER_OPMUL(name, tn, v) __CILKPP_DECLARE_OP(OPMUL, opmul, name, tn, v)
#define CILK_C_REDUCER_OPAND(name, tn, v) __CILKPP_DECLARE_OP(OPAND, opand, name, tn, v)
#define CILK_C_REDUCER_OPOR(name, tn, v) __CILKPP_DECLARE_OP(OPOR, opor, name, tn, v)
#define CILK_C_REDUCER_OPXOR(name, tn, v) __CILKPP_DECLARE_OP(OPXOR, opxor, name, tn, v)
#define CILK_C_REDUCER_MAX(name, tn, v) __CILKPP_DECLARE_OP(MAX, max, name, tn, v)
#define CILK_C_REDUCER_MIN(name, tn, v) __CILKPP_DECLARE_OP(MIN, min, name, tn, v)
#define CILK_C_REDUCER_MAX_INDEX(name, tn, v) __CILKPP_DECLARE_INDEX(max_index, name, tn, v)
#define CILK_C_REDUCER_MIN_INDEX(name, tn, v) __CILKPP_DECLARE_INDEX(min_index, name, tn, v)

#define CILK_C_REDUCER_MAX_CALC(r, v) __CILKPP_CALC(r, v, >)
#define CILK_C_REDUCER_MIN_CALC(r, v) __CILKPP_CALC(r, v, <)
#define CILK_C_REDUCER_MAX_INDEX_CALC(r, i, v) __CILKPP_INDEX_CALC(r, i, v, >)
#define CILK_C_REDUCER_MIN_INDEX_CALC(r, i, v) __CILKPP_INDEX_CALC(r, i, v, <)

#define CILK_C_REDUCER_OPADD_TYPE(tn) __cilkpp_reducer_##tn
#define CILK_C_REDUCER_OPMUL_TYPE(tn) __cilkpp_reducer_##tn
#define CILK_C_REDUCER_OPAND_TYPE(tn) __cilkpp_reducer_##tn
#define CILK_C_REDUCER_OPOR_TYPE(tn) __cilkpp_reducer_##tn
#define CILK_C_REDUCER_OPXOR_TYPE(tn) __cilkpp_reducer_##tn
#define CILK_C_REDUCER_MAX_TYPE(tn) __cilkpp_reducer_##tn
#define CILK_C_REDUCER_MIN_TYPE(tn) __cilkpp_reducer_##tn
#define CILK_C_REDUCER_MAX_INDEX_TYPE(tn) __cilkpp_index_reducer_##tn
#define CILK_C_REDUCER_MIN_INDEX_TYPE(tn) __cilkpp_index_reducer_##tn

#endif
