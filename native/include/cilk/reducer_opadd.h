/* cilk/reducer_opadd.h — see reducer_ops.h */
#include <cilk/reducer_ops.h>
