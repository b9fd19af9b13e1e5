// error: 6: unsupported clause 'inn'
int main(void)
{
    float a[4] = {0};
    int n = 4;
    #pragma offload target(mic) inn(a : length(n))
    a[0] = 1;
    return 0;
}
