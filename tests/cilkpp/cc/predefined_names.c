/* __FILE__, __LINE__ and __func__ as the user wrote them: the file name given to dnn-cc,
 * the source line, and the function's own name (main, and inside an offload block, whose
 * code moves into a function of its own). */
#include <stdio.h>
#define WHERE(tag) printf("%s %s:%d %s\n", tag, __FILE__, __LINE__, __func__)

static void helper(void) { WHERE("helper"); }

int main(void)
{
    WHERE("main");
    helper();
    int line = 0;
    char fn[32] = "";
    #pragma offload target(mic) out(line, fn)
    {
        line = __LINE__;
        snprintf(fn, sizeof fn, "%s", __func__);
    }
    printf("offload %d %s\n", line, fn);
    return 0;
}
