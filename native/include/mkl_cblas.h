/* mkl_cblas.h — see mkl.h */
#include <mkl.h>
