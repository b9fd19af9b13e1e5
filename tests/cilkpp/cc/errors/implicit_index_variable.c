// error: 6: integer constant
int main(void)
{
    int a[4];
    int k = 0;
    a[:] = __sec_implicit_index(k);
    return a[0];
}
