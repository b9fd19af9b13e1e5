// error: 5: target
int main(void)
{
    int x = 0;
    #pragma offload target(gfx) inout(x)
    x = 1;
    return x;
}
