// error: 6: must compare the control variable 'i'
int main(void)
{
    int a[10], n = 10;
    _Cilk_for (int i = 0;
               n > 0; i++)
        a[i] = i;
    return a[0];
}
