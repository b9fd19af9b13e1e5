// error: 5: _Cilk_spawn must start a statement
static int f(int x) { return x; }
int g(int x)
{
    return _Cilk_spawn f(x);
}
int main(void) { return g(0); }
