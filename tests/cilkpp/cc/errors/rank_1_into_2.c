// error: 6: rank mismatch
int main(void)
{
    int b[3][4], row[4];
    row[:] = 1;
    b[:][:] = row[:];
    return b[0][0];
}
