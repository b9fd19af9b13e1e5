/* cilk/reducer_opmul.h — see reducer_ops.h */
#include <cilk/reducer_ops.h>
