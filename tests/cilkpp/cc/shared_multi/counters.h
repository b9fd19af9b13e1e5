extern _Cilk_shared int hits;
extern _Cilk_shared double area;
_Cilk_shared void add_hits(int by);
_Cilk_shared void fill(_Cilk_shared int *r, int i);
