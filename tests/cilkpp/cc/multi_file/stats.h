#ifndef STATS_H
#define STATS_H
/* compiled for the host and the card alike */
__attribute__((target(mic))) void describe(const float *x, int n, double *out);
#endif
