/* Headers included inside offload_attribute(push, target(mic)), as offload codes did so that
 * libm and libc are callable on the card; a card-only path under __MIC__ in a helper. */
#pragma offload_attribute(push, target(mic))
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#pragma offload_attribute(pop)

#pragma offload_attribute(push, target(mic))
static const char *side(void)
{
#ifdef __MIC__
    return "mic";
#else
    return "host";
#endif
}
#pragma offload_attribute(pop)

int main(void)
{
    double r[4];
    char who[8];
    #pragma offload target(mic) out(r, who)
    {
        double *tmp = (double *)malloc(4 * sizeof(double));
        for (int i = 0; i < 4; i++) tmp[i] = sqrt((double)(i * i * 4));
        memcpy(r, tmp, sizeof r);
        free(tmp);
        strcpy(who, side());
    }
    printf("%g %g %g %g on %s\n", r[0], r[1], r[2], r[3], who);
    return 0;
}
