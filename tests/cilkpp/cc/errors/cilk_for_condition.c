// error: 6: condition
static int more(int i) { return i < 10; }
int main(void)
{
    int a[10] = {0};
    _Cilk_for (int i = 0; more(i); i++)
        a[i] = i;
    return a[1];
}
