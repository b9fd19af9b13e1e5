/* cilk/cilk_stub.h — included to build a Cilk Plus program as serial C, as Intel's header did:
 * the keywords become their serial meaning (a spawn is a call, a sync nothing, _Cilk_for a for
 * loop) and the runtime's queries (<cilk/cilk_api.h>) report one worker. */
#ifndef DNN_CILK_CILK_STUB_H
#define DNN_CILK_CILK_STUB_H

#define _Cilk_spawn
#define _Cilk_sync
#define _Cilk_for for
#define cilk_spawn
#define cilk_sync
#define cilk_for for
#define CILK_STUB 1 /* <cilk/cilk_api.h> then reports one worker */

#endif
