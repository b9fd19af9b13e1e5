// error: 7: length mismatch
#define N 10
int main(void)
{
    int a[N], b[N];
    b[:] = 1;
    a[0:N] = b[0:2 * 4];
    return a[0];
}
