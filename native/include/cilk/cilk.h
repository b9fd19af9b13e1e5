/* cilk/cilk.h — the Cilk Plus keywords under their lower-case names, for programs built with
 * dnn-cc (dnn.cilkpp reads cilk_spawn, cilk_sync and cilk_for as _Cilk_spawn, _Cilk_sync and
 * _Cilk_for; the macros keep plain C compilers of the same source agreeing). */
#ifndef DNN_CILK_CILK_H
#define DNN_CILK_CILK_H

#ifndef cilk_spawn /* <cilk/cilk_stub.h> first: its serial meanings stay */
#define cilk_spawn _Cilk_spawn
#define cilk_sync _Cilk_sync
#define cilk_for _Cilk_for
#endif

#endif
