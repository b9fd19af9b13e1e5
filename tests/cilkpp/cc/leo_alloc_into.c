/* into() with alloc(): a quarter of the host input lands in the middle of a larger card buffer,
 * is updated there, and a quarter comes back into another place of the host output (with
 * status(), as Intel's sample of the kind did). */
#include <offload.h>
#include <stdio.h>

#define N 16
#define QTR (N / 4)
#define HALF (N / 2)

int main(void)
{
    int inp[N], outp[N], micp[N];
    for (int i = 0; i < N; i++) inp[i] = i + 1, outp[i] = 0, micp[i] = -1;
    _Offload_status st;
    OFFLOAD_STATUS_INIT(st);
    #pragma offload target(mic) optional status(st) \
        in(inp[0:QTR] : alloc(micp[QTR:HALF]) into(micp[HALF:QTR])) \
        out(micp[QTR:QTR] : into(outp[3 * QTR:QTR]))
    {
        for (int i = QTR; i < HALF; i++) micp[i] = micp[i + QTR] * 10;
    }
    printf("status %s:", st.result == OFFLOAD_SUCCESS ? "ok" : "failed");
    for (int i = 0; i < N; i++) printf(" %d", outp[i]);
    printf("\n");
    return 0;
}
