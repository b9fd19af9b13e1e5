// error: 5: must have an integer or pointer type
int main(void)
{
    double s[10];
    _Cilk_for (double x = 0; x < 10; x++)
        s[(int)x] = x;
    return (int)s[2];
}
