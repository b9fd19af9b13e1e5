/* Structures by value in clauses (bitwise copies), an if() that keeps small problems on the
 * host, and __declspec(target(mic)) helpers. */
#include <offload.h>
#include <stdio.h>

typedef struct { double lo, hi; int steps; } range_t;
typedef struct { double integral; int evaluations; } result_t;

__declspec(target(mic)) static double f(double x) { return x * x; }

__declspec(target(mic)) static result_t integrate(range_t r)
{
    result_t out = {0, 0};
    double h = (r.hi - r.lo) / r.steps;
    for (int i = 0; i < r.steps; i++) {
        double x = r.lo + (i + 0.5) * h;
        out.integral += f(x) * h;
        out.evaluations++;
    }
    return out;
}

int main(void)
{
    range_t jobs[2] = {{0, 1, 10}, {0, 3, 300000}};
    for (int j = 0; j < 2; j++) {
        range_t r = jobs[j];
        result_t res;
        int where = -2;
        #pragma offload target(mic) if(r.steps > 1000) in(r) out(res, where)
        {
            res = integrate(r);
            where = _Offload_get_device_number();
        }
        printf("job %d: %.4f from %d evaluations, on %s\n", j, res.integral, res.evaluations,
               where >= 0 ? "the card" : "the host");
    }
    return 0;
}
