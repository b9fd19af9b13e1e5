// error: 5: must declare one control variable
int main(void)
{
    int a[10];
    _Cilk_for (int i = 0, j = 9; i < 10; i++)
        a[i] = j;
    return a[0];
}
