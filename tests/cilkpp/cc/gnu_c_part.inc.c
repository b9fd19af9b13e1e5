/* included by gnu_c.c with #include "...": Array Notation in an included C file */
__attribute__((target(mic))) static void ramp(int *a, int n)
{
    a[0:n] = 10 * __sec_implicit_index(0);
}
