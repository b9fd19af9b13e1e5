/* A string crossing with length(strlen(s) + 1), a pointer's value as the signal tag,
 * offload_wait on it, and _Offload_shared_aligned_malloc / free. */
#include <offload.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>

__attribute__((target(mic))) int count_vowels(const char *s)
{
    int n = 0;
    for (; *s; s++) n += strchr("aeiou", *s) != NULL;
    return n;
}

int main(void)
{
    const char *text = "offload to the coprocessor";
    char *s = strdup(text);
    int vowels = 0;
    #pragma offload target(mic) in(s : length(strlen(s) + 1)) out(vowels)
    vowels = count_vowels(s);

    float *buf = (float *)malloc(1000 * sizeof(float));
    for (int i = 0; i < 1000; i++) buf[i] = 1.0f;
    float *tag = buf; /* the tag is the pointer's value */
    #pragma offload target(mic:0) inout(buf : length(1000)) signal(tag)
    {
        for (int i = 0; i < 1000; i++) buf[i] *= 3.0f;
    }
    #pragma offload_wait target(mic:0) wait(tag)

    double *al = (double *)_Offload_shared_aligned_malloc(100 * sizeof(double), 4096);
    int aligned = ((uintptr_t)al % 4096) == 0;
    _Offload_shared_aligned_free(al);
    printf("vowels %d buf[999] %g aligned %d\n", vowels, buf[999], aligned);
    free(s);
    free(buf);
    return 0;
}
