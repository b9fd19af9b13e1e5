/* cilk/reducer_opor.h — see reducer_ops.h */
#include <cilk/reducer_ops.h>
