// error: 5: needs an array section argument
int main(void)
{
    int a[4] = {0};
    int s = __sec_reduce_add(5);
    return s + a[0];
}
