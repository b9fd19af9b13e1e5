/* More Array Notation from the specification, each result held to a plain C loop computing
 * the same: a negative stride, a zero length, compound assignment and ++ on sections, unary and
 * bitwise operators and casts, a section of pointer arithmetic, a variable start, rows and
 * columns of a 2-D array reduced inside a loop, and a conditional with scalar branches. */
#include <stdio.h>

#define N 10
static int check(const char *what, const int *got, const int *want, int n)
{
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) {
            printf("%s: element %d is %d, not %d\n", what, i, got[i], want[i]);
            return 1;
        }
    printf("%s ok\n", what);
    return 0;
}

int main(void)
{
    int a[N], b[N], c[N], want[N], bad = 0;
    for (int i = 0; i < N; i++) a[i] = i * 3 - 7;

    b[:] = a[N - 1:N:-1];
    for (int i = 0; i < N; i++) want[i] = a[N - 1 - i];
    bad += check("negative stride", b, want, N);

    int zero = 0;
    c[:] = 5;
    c[0:zero] = 99;
    for (int i = 0; i < N; i++) want[i] = 5;
    bad += check("zero length", c, want, N);

    c[:] += a[:];
    c[2:4]++;
    for (int i = 0; i < N; i++) want[i] = 5 + a[i] + (i >= 2 && i < 6);
    bad += check("compound and ++", c, want, N);

    b[:] = -a[:] ^ (a[:] << 2) | ~a[:] & 12;
    for (int i = 0; i < N; i++) want[i] = -a[i] ^ (a[i] << 2) | ~a[i] & 12;
    bad += check("operators", b, want, N);

    double d[N];
    d[:] = a[:] / 2.0;
    b[:] = (int)(d[:] * 2) + !a[:];
    for (int i = 0; i < N; i++) want[i] = (int)(a[i] / 2.0 * 2) + !a[i];
    bad += check("casts", b, want, N);

    int k = 3;
    b[:] = 0;
    b[k:N - k] = (a + 1)[0:N - k];
    for (int i = 0; i < N; i++) want[i] = i < k ? 0 : a[i - k + 1];
    bad += check("pointer arithmetic, variable start", b, want, N);

    int m[4][5], rows[4], cols[5], wr[4] = {0}, wc[5] = {0};
    m[:][:] = __sec_implicit_index(0) * 5 + __sec_implicit_index(1);
    for (int i = 0; i < 4; i++) rows[i] = __sec_reduce_add(m[i][:]);
    for (int j = 0; j < 5; j++) cols[j] = __sec_reduce_max(m[:][j]);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++) wr[i] += i * 5 + j, wc[j] = i * 5 + j > wc[j] ? i * 5 + j : wc[j];
    bad += check("row sums", rows, wr, 4);
    bad += check("column maxima", cols, wc, 5);

    b[:] = a[:] > 0 ? 1 : -1;
    for (int i = 0; i < N; i++) want[i] = a[i] > 0 ? 1 : -1;
    bad += check("conditional", b, want, N);
    return bad;
}
