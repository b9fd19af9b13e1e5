#ifndef SUM_H
#define SUM_H
typedef double myfloat;
_Cilk_shared myfloat shared_sum(_Cilk_shared myfloat *v, int n);
extern _Cilk_shared int shared_calls;
#endif
