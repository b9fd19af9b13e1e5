/* Rank-2 Array Notation held to plain C loops: a strided block of one matrix into another, a
 * transposing copy through implicit indices, a row copied to every row by its index, an if over a rank-2 condition
 * with compound branches, and reductions over blocks. */
#include <stdio.h>

#define R 6
#define C 8

static int same(const char *what, int (*got)[C], int (*want)[C])
{
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++)
            if (got[i][j] != want[i][j]) {
                printf("%s: [%d][%d] is %d, not %d\n", what, i, j, got[i][j], want[i][j]);
                return 1;
            }
    printf("%s ok\n", what);
    return 0;
}

int main(void)
{
    int a[R][C], b[R][C], w[R][C], row[C], bad = 0;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) a[i][j] = (i * 7 + j * 3) % 11 - 5;

    b[:][:] = 0;
    b[0:3:2][1:4:2] = a[1:3][0:4] * 2;
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) w[i][j] = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) w[2 * i][1 + 2 * j] = a[1 + i][j] * 2;
    bad += same("strided block", b, w);

    int t[C][R];
    t[:][:] = a[__sec_implicit_index(1)][__sec_implicit_index(0)];
    int tt[R][C];
    tt[:][:] = t[__sec_implicit_index(1)][__sec_implicit_index(0)];
    bad += same("transpose twice", tt, a);

    row[:] = __sec_implicit_index(0) * 100;
    b[:][:] = row[__sec_implicit_index(1)]; /* b[:][:] = row[:] would be a rank mismatch */
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) w[i][j] = j * 100;
    bad += same("row broadcast", b, w);

    b[:][:] = 0;
    if (a[:][:] > 0) {
        b[:][:] = a[:][:];
        b[:][:] += 1000;
    } else {
        b[:][:] = -1;
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) w[i][j] = a[i][j] > 0 ? a[i][j] + 1000 : -1;
    bad += same("rank-2 if", b, w);

    int s = 0, mx = -100;
    for (int i = 2; i < 5; i++)
        for (int j = 3; j < 7; j++) s += a[i][j], mx = a[i][j] > mx ? a[i][j] : mx;
    printf("block sum %s, block max %s\n", __sec_reduce_add(a[2:3][3:4]) == s ? "ok" : "wrong",
           __sec_reduce_max(a[2:3][3:4]) == mx ? "ok" : "wrong");
    return bad;
}
