// error: 5: #pragma cilk grainsize must be followed by a _Cilk_for
int main(void)
{
    int s = 0;
    #pragma cilk grainsize = 4
    for (int i = 0; i < 4; i++) s += i;
    return s;
}
