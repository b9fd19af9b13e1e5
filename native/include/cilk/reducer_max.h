/* cilk/reducer_max.h — see reducer_ops.h */
#include <cilk/reducer_ops.h>
