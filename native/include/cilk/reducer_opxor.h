/* cilk/reducer_opxor.h — see reducer_ops.h */
#include <cilk/reducer_ops.h>
