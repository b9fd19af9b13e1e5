/* omp_set_num_threads_target from <offload.h>: the card runs the next offloads with that many
 * OpenMP threads (an offload followed by #pragma omp parallel, as in Intel's example). */
#include <stdio.h>
#include <omp.h>
#include <offload.h>
int main(void)
{
    omp_set_num_threads_target(TARGET_MIC, 0, 3);
    int nt = 0;
    #pragma offload target(mic:0) out(nt)
    #pragma omp parallel
    #pragma omp master
    nt = omp_get_num_threads();
    printf("card threads %d (asked %d)\n", nt, omp_get_max_threads_target(TARGET_MIC, 0));
    return 0;
}
