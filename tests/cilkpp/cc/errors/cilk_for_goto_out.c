// error: 7: goto statement may not leave the loop body
int main(void)
{
    int a[10] = {0};
    _Cilk_for (int i = 0; i < 10; i++) {
        a[i] = i;
        if (i == 3) goto done;
    }
done:
    return a[1];
}
