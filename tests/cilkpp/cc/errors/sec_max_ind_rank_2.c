// error: 6: rank 1 sections only
int main(void)
{
    int m[3][4];
    m[:][:] = 1;
    return (int)__sec_reduce_max_ind(m[:][:]);
}
