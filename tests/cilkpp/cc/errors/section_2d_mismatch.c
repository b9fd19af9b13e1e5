// error: 6: length
int main(void)
{
    int m[4][5], n[4][6];
    n[:][:] = 0;
    m[:][:] = n[:][:];
    return m[0][0];
}
