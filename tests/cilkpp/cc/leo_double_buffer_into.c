/* Double buffering over a stream of blocks, as Intel's samples did it: two card buffers kept
 * with alloc_if/free_if, each block sent into() one of them with signal() while the other is
 * summed, wait() before use. */
#include <stdio.h>
#include <stdlib.h>

#define BLOCK 1024
#define NBLOCKS 6

__attribute__((target(mic))) double block_sum(const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += b[i];
    return s;
}

int main(void)
{
    float *data = malloc(sizeof(float) * BLOCK * NBLOCKS);
    for (int i = 0; i < BLOCK * NBLOCKS; i++) data[i] = (float)(i % 7);
    float *buf0 = malloc(sizeof(float) * BLOCK), *buf1 = malloc(sizeof(float) * BLOCK);
    char sig0, sig1;
    double total = 0;
    #pragma offload_transfer target(mic:0) nocopy(buf0, buf1 : length(BLOCK) alloc_if(1) free_if(0))
    #pragma offload_transfer target(mic:0) in(data[0:BLOCK] : into(buf0[0:BLOCK]) alloc_if(0) free_if(0)) signal(&sig0)
    for (int k = 0; k < NBLOCKS; k++) {
        double part = 0;
        if (k % 2 == 0) {
            if (k + 1 < NBLOCKS) {
                #pragma offload_transfer target(mic:0) in(data[(k + 1) * BLOCK:BLOCK] : into(buf1[0:BLOCK]) alloc_if(0) free_if(0)) signal(&sig1)
            }
            #pragma offload target(mic:0) wait(&sig0) nocopy(buf0 : length(BLOCK) alloc_if(0) free_if(0)) out(part)
            part = block_sum(buf0, BLOCK);
        } else {
            if (k + 1 < NBLOCKS) {
                #pragma offload_transfer target(mic:0) in(data[(k + 1) * BLOCK:BLOCK] : into(buf0[0:BLOCK]) alloc_if(0) free_if(0)) signal(&sig0)
            }
            #pragma offload target(mic:0) wait(&sig1) nocopy(buf1 : length(BLOCK) alloc_if(0) free_if(0)) out(part)
            part = block_sum(buf1, BLOCK);
        }
        total += part;
    }
    #pragma offload_transfer target(mic:0) nocopy(buf0, buf1 : length(BLOCK) alloc_if(0) free_if(1))
    double ref = 0;
    for (int i = 0; i < BLOCK * NBLOCKS; i++) ref += data[i];
    printf("total %g reference %g\n", total, ref);
    free(data); free(buf0); free(buf1);
    return 0;
}
