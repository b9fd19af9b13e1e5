// dnn-cc: -O3 -openmp -mkl -offload-option,mic,compiler,"-O3 -z defs" -offload-attribute-target=mic -qopt-report=2 -vec-report3
#include <stdio.h>
#include <omp.h>
int counter = 5;
int twice(int v) { return 2 * v; }
int main(void)
{
    int r = 0;
    #pragma offload target(mic) in(counter) out(r)
    r = twice(counter);
    printf("r %d\n", r);
    return 0;
}
