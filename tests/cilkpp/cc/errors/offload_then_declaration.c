// error: 5: #pragma offload must be followed by a statement
int main(void)
{
    int x = 0;
    #pragma offload target(mic) inout(x)
    int y = 3;
    return x + y;
}
