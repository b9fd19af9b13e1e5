/* cilk/reducer_min.h — see reducer_ops.h */
#include <cilk/reducer_ops.h>
