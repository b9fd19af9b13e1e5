/* _Cilk_for in every form the Cilk Plus specification allows: <, <=, >, >=, != (with steps other than 1), the limit first, ++/--/+=/-=, the control variable declared outside, unsigned, pointer and short control variables, grainsize pragmas with constant and expression values, the limit evaluated once, nested loops. */
#include <stdio.h>
#include <cilk/cilk.h>
static int hits[64];
int main(void)
{
    int i; unsigned u; char *p; char buf[20];
    long s;
#define CLR() do { for (int q = 0; q < 64; q++) hits[q] = 0; } while (0)
#define SUM() ({ int t_ = 0; for (int q = 0; q < 64; q++) t_ += hits[q] * (q + 1); t_; })
    CLR(); _Cilk_for (int i = 0; i < 10; i++) hits[i]++; printf("< %d\n", SUM());
    CLR(); _Cilk_for (int i = 0; i <= 10; i++) hits[i]++; printf("<= %d\n", SUM());
    CLR(); _Cilk_for (int i = 10; i > 0; i--) hits[i]++; printf("> %d\n", SUM());
    CLR(); _Cilk_for (int i = 10; i >= 0; i -= 2) hits[i]++; printf(">= %d\n", SUM());
    CLR(); _Cilk_for (int i = 0; i != 12; i += 3) hits[i]++; printf("!= %d\n", SUM());
    CLR(); _Cilk_for (int i = 12; i != 0; i -= 3) hits[i]++; printf("!=- %d\n", SUM());
    CLR(); _Cilk_for (int i = 0; 10 > i; ++i) hits[i]++; printf("rev %d\n", SUM());
    CLR(); _Cilk_for (i = 0; i < 10; i++) hits[i]++; printf("outside %d\n", SUM());
    CLR(); _Cilk_for (unsigned u = 0; u < 10; u++) hits[u]++; printf("unsigned %d\n", SUM());
    CLR(); _Cilk_for (u = 9; u > 0; --u) hits[u]++; printf("unsigned-down %d\n", SUM());
    CLR(); _Cilk_for (char *p = buf; p < buf + 20; p += 2) hits[p - buf]++; printf("ptr %d\n", SUM());
    CLR(); _Cilk_for (p = buf + 19; p >= buf; p--) hits[p - buf]++; printf("ptr-down %d\n", SUM());
    CLR();
#pragma cilk grainsize = 2
    _Cilk_for (int i = 0; i < 30; i++) hits[i]++;
    printf("grain %d\n", SUM());
    CLR();
    int n = 16;
#pragma cilk grainsize = n / 4
    cilk_for (int i = 0; i < n; i++) hits[i]++;
    printf("grain-expr %d\n", SUM());
    CLR();
    cilk_for (short i = 0; i < 8; i++) hits[i]++;
    printf("short %d\n", SUM());
    CLR();
    int lim = 10;
    cilk_for (int i = 0; i < lim; i++) { if (i == 0) lim = 3; hits[i]++; }
    printf("lim-once %d\n", SUM());
    CLR();
    cilk_for (int i = 0; i < 4; i++) cilk_for (int j = 0; j < 4; j++) hits[i * 4 + j]++;
    printf("nested %d\n", SUM());
    return 0;
}
