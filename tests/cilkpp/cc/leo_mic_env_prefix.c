/* MIC_ENV_PREFIX: with MIC_ENV_PREFIX=PHI, the card sees PHI_GREETING as GREETING (set here
 * before the first offload starts the card, as a job script would have exported them). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    setenv("MIC_ENV_PREFIX", "PHI", 1);
    setenv("PHI_GREETING", "hello from the card", 1);
    setenv("GREETING", "hello from the host", 1);
    char msg[64] = "";
    #pragma offload target(mic) out(msg)
    {
        const char *g = getenv("GREETING");
        strncpy(msg, g ? g : "(unset)", sizeof msg - 1);
    }
    printf("%s\n", msg);
    return 0;
}
