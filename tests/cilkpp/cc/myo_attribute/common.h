#pragma offload_attribute(push, _Cilk_shared)
typedef struct { int n; double *v; } vec_t;
extern vec_t *shared_vec;
double vsum(void);
#pragma offload_attribute(pop)
