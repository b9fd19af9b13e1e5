/* cilk/reducer_min_max.h — see reducer_ops.h (MAX, MIN, MAX_INDEX, MIN_INDEX) */
#include <cilk/reducer_ops.h>
