/* A 2-D array's rows in a clause (a[i:n][0:m]): only the middle rows go to the card and back. */
#include <stdio.h>
#define R 6
#define C 5
int main(void)
{
    double m[R][C];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) m[i][j] = i * 10 + j;
    #pragma offload target(mic) inout(m[2:3][0:C])
    for (int i = 2; i < 5; i++)
        for (int j = 0; j < C; j++) m[i][j] = -m[i][j];
    for (int i = 0; i < R; i++) printf("%g%c", m[i][1], i == R - 1 ? '\n' : ' ');
    return 0;
}
