/* A string sent with length(strlen(s) + 1), sections with computed starts, a collapse(2) loop
 * right after the pragma. */
#include <stdio.h>
#include <string.h>

#define R 4
#define C 6
int main(void)
{
    const char *name = "offload";
    char upper[32];
    int len = (int)strlen(name) + 1;
    #pragma offload target(mic) in(name : length(strlen(name) + 1)) out(upper[0:len])
    {
        for (int i = 0; name[i]; i++) upper[i] = (char)(name[i] - 32);
        upper[strlen(name)] = 0;
    }
    int grid[R * C];
    for (int i = 0; i < R * C; i++) grid[i] = i;
    int row = 2;
    #pragma offload target(mic) inout(grid[row * C:C])
    for (int j = row * C; j < (row + 1) * C; j++) grid[j] *= -1;
    int m[R][C];
    #pragma offload target(mic) out(m)
    #pragma omp parallel for collapse(2)
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) m[i][j] = i * j;
    printf("%s %d %d %d %d\n", upper, grid[11], grid[12], grid[17], m[3][5]);
    return 0;
}
