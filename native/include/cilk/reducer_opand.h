/* cilk/reducer_opand.h — see reducer_ops.h */
#include <cilk/reducer_ops.h>
