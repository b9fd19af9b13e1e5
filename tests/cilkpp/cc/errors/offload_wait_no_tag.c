// error: 6: offload_wait
int main(void)
{
    int x = 0;
    char tag;
    #pragma offload_wait target(mic)
    x = tag;
    return x;
}
