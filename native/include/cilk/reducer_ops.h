/* cilk/reducer_ops.h — the reducers Cilk Plus defined for C's arithmetic types, each
 * CILK_C_REDUCER_<OP>(name, tn, v) declaring and initialising `name` (see reducer.h):
 * OPADD, OPMUL, OPAND, OPOR, OPXOR, MAX, MIN. tn names the type as Cilk's headers did: char,
 * uchar, schar, short, ushort, int, uint, unsigned, long, ulong, longlong, ulonglong, float,
 * double, longdouble, size_t. */
#ifndef DNN_CILK_REDUCER_OPS_H
#define DNN_CILK_REDUCER_OPS_H

#include <cilk/reducer.h>

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
    CILK_C_DECLARE_REDUCER(__cilkpp_rt_##tn) name = CILK_C_INIT_REDUCER(                          \
        __cilkpp_rt_##tn, __cilkpp_##op##_reduce_##tn, __cilkpp_##op##_identity_##tn, 0, v)

#define __CILKPP_INT_OPS(tn, lo, hi)                                                                  \
    __CILKPP_OP(opadd, tn, 0, *a + b) __CILKPP_OP(opmul, tn, 1, *a * b)                             \
    __CILKPP_OP(opand, tn, ~(__cilkpp_rt_##tn)0, *a & b) __CILKPP_OP(opor, tn, 0, *a | b)           \
    __CILKPP_OP(opxor, tn, 0, *a ^ b) __CILKPP_OP(max, tn, lo, *a > b ? *a : b)                      \
    __CILKPP_OP(min, tn, hi, *a < b ? *a : b)
#define __CILKPP_FLOAT_OPS(tn)                                                                        \
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

#endif
