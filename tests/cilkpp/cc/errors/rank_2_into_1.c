// error: 5: rank mismatch
int main(void)
{
    int a[4], b[4][4];
    a[:] = b[:][:];
    return a[0];
}
