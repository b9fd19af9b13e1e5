/* A whole block of declarations for both sides: headers, a typedef, globals with initialisers,
 * an array, several functions that call each other, and a static helper. */
#include <stdio.h>
#include <string.h>

#pragma offload_attribute(push, target(mic))
#include <math.h>
#include <stdlib.h>
typedef struct {
    double x, y;
} point;
point corners[4] = {{0, 0}, {3, 0}, {3, 4}, {0, 4}};
int ncorners = 4;
static double dist(point a, point b) { return sqrt((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)); }
double perimeter(const point *p, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += dist(p[i], p[(i + 1) % n]);
    return s;
}
double diagonal(void) { return dist(corners[0], corners[2]); }
#pragma offload_attribute(pop)

int main(void)
{
    double per = 0, diag = 0;
    char where[16] = "host";
    #pragma offload target(mic) out(per, diag, where)
    {
        per = perimeter(corners, ncorners);
        diag = diagonal();
#ifdef __MIC__
        strcpy(where, "card");
#else
        strcpy(where, "host");
#endif
    }
    printf("perimeter %.1f diagonal %.1f\n", per, diag);
    return 0;
}
