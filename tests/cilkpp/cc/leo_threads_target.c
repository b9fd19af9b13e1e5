/* OpenMP on the card, threads set from the host with omp_set_num_threads_target; each card
 * thread marks its slot. */
#include <offload.h>
#include <omp.h>
#include <stdio.h>

int main(void)
{
    omp_set_num_threads_target(TARGET_MIC, 0, 2);
    int marks[64] = {0};
    int nth = 0;
    #pragma offload target(mic:0) inout(marks) out(nth)
    {
        #pragma omp parallel
        {
            #pragma omp single
            nth = omp_get_num_threads();
            marks[omp_get_thread_num()] = 1;
        }
    }
    int s = 0;
    for (int i = 0; i < 64; i++) s += marks[i];
    printf("threads %d, marked %d\n", nth, s);
    return 0;
}
