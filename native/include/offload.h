/* offload.h — Intel's offload API, for programs written for Intel's offload compiler and built
 * with dnn-cc (`#include <offload.h>` finds this file). The functions are defined by the code
 * dnn.cilkpp generates (templates/runtime.c.in, host_offload.c.in) on dnn's runtime, whose own
 * header is off_runtime.h.
 *
 *   _Offload_number_of_devices()     the program's cards: DNN_CARDS, else as many as OFFLOAD_DEVICES
 *                                    lists, else dnn-cc's --cards (default 1;
 *                                    0 without a card), each its own card process, started at the
 *                                    first offload to it; target(mic:n) runs on card n modulo that
 *   _Offload_get_device_number()     -1 on the host; on a card, its own number
 *   _Offload_signaled(dev, tag)      has the offload that signal(tag) started finished?
 *   _Offload_shared_malloc / _free, _Offload_shared_aligned_malloc / _free: Cilk shared memory
 *   _Offload_status + status(s):     an offload that fails sets s.result instead of ending the program
 *   _Offload_stream_create(dev, cpus) and `#pragma offload ... stream(s)`: offloads in a stream run
 *                                    in order; offload_wait stream(s), _Offload_stream_completed
 *                                    wait for or poll them (every signal() pending on the card)
 */
#ifndef DNN_INTEL_OFFLOAD_H
#define DNN_INTEL_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TARGET_ATTRIBUTE __attribute__((target(mic)))

typedef enum TARGET_TYPE { TARGET_NONE, TARGET_HOST, TARGET_MIC } TARGET_TYPE;
#define DEFAULT_TARGET_TYPE TARGET_MIC
#define DEFAULT_TARGET_NUMBER 0

typedef enum {
    OFFLOAD_SUCCESS = 0,
    OFFLOAD_DISABLED,      /* nothing was offloaded (yet) */
    OFFLOAD_UNAVAILABLE,   /* no card */
    OFFLOAD_OUT_OF_MEMORY, /* the card's memory is full */
    OFFLOAD_PROCESS_DIED,  /* the card process died */
    OFFLOAD_ERROR          /* any other failure */
} _Offload_result;

typedef struct {
    _Offload_result result;
    int device_number;    /* the card that ran the offload; -1 for the host */
    size_t data_sent;     /* bytes to the card */
    size_t data_received; /* bytes back */
} _Offload_status;

#define OFFLOAD_STATUS_INIT(s) ((s).result = OFFLOAD_DISABLED)
#define OFFLOAD_STATUS_INITIALIZER {OFFLOAD_DISABLED, -1, 0, 0}

int _Offload_number_of_devices(void);
int _Offload_get_device_number(void);
int _Offload_get_physical_device_number(void);
int _Offload_signaled(int target_number, void *signal);
void _Offload_report(int on); /* accepted; the runtime's counters are the report here */

/* The card's OpenMP threads, set and read from the host (target_type is TARGET_MIC). */
void omp_set_num_threads_target(int target_type, int target_number, int num_threads);
int omp_get_max_threads_target(int target_type, int target_number);
int omp_get_num_procs_target(int target_type, int target_number);

typedef int64_t _Offload_stream;
typedef _Offload_stream _Offload_stream_handle;
_Offload_stream _Offload_stream_create(int device, int number_of_cpus);
int _Offload_stream_destroy(int device, _Offload_stream stream);
int _Offload_stream_delete(_Offload_stream stream);
int _Offload_stream_completed(int device, _Offload_stream stream); /* 1: nothing of it in flight */
int _Offload_device_streams_completed(int device);
int _Offload_stream_is_empty(_Offload_stream stream);

void *_Offload_shared_malloc(size_t size);
void _Offload_shared_free(void *p);
void *_Offload_shared_aligned_malloc(size_t size, size_t align);
void _Offload_shared_aligned_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
