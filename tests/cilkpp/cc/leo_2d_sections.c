/* Two-dimensional arrays in LEO clauses: a whole static 2-D array, a block of rows a[i:n][0:M],
 * and a pointer to rows (double (*)[M]) with length in rows. */
#include <stdio.h>
#include <stdlib.h>

#define M 6

double grid[8][M];

int main(void)
{
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < M; j++) grid[i][j] = i * 10 + j;
    /* rows 2..5 go to the card, are doubled there, and come back */
    #pragma offload target(mic) inout(grid[2:4][0:M])
    {
        for (int i = 2; i < 6; i++)
            for (int j = 0; j < M; j++) grid[i][j] *= 2;
    }
    double (*rows)[M] = malloc(3 * sizeof *rows);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < M; j++) rows[i][j] = i + j;
    double total = 0;
    #pragma offload target(mic) in(rows : length(3)) out(total)
    {
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < M; j++) total += rows[i][j];
    }
    printf("grid[1][5]=%g grid[2][0]=%g grid[5][5]=%g grid[6][0]=%g total=%g\n", grid[1][5], grid[2][0],
           grid[5][5], grid[6][0], total);
    free(rows);
    return 0;
}
