/* What Python sees of the native library (cffi cdef: plain declarations, no preprocessor).
 * Mirrors native/include/off_runtime.h; the C compiler checks the two agree when cffi builds. */

#define OFF_OK 0
#define OFF_EARG 1
#define OFF_EARENA 2
#define OFF_ECARDMEM 3
#define OFF_EDIED 4
#define OFF_EKERNEL 5
#define OFF_ENOKERNEL 6
#define OFF_ESYS 7
#define OFF_EBUSY 8
#define OFF_ESTART 9
#define OFF_ETIMEDOUT 10

#define OFF_MAX_ARGS 16
#define OFF_MAX_XFERS 64
#define OFF_MAX_RESULTS 16

#define OFF_IN 1
#define OFF_OUT 2
#define OFF_INOUT 3
#define OFF_NOCOPY 4
#define OFF_ALLOC_IF 8
#define OFF_FREE_IF 16

typedef struct { int32_t kind; int32_t pad; union { int64_t i; double d; void *p; } v; } off_arg;

typedef struct {
    const void *host;
    uint64_t bytes;
    uint32_t flags;
    uint32_t pad;
    const void *into;
} off_xfer;

typedef struct {
    uint64_t calls;
    uint64_t bytes_to_card, bytes_from_card;
    uint64_t transfers;
    double transfer_s;
    double transfer_real_s;
    double transfer_model_s;
    double compute_s;
    double wait_s;
    double wall_s;
    uint64_t myo_bytes_to_card, myo_bytes_from_card;
    double myo_transfer_s;
} off_stats;

typedef struct {
    int threads;
    const char *cpus;
    const char *link;
    size_t arena_bytes;
    size_t card_memory;
    const char *card_exe;
    const char *coherence;
    int race_check;
    double card_timeout;
} off_config;

typedef struct {
    uint64_t pages_to_card, pages_from_card;
    uint64_t faults_host, faults_card;
    uint64_t races;
    double coherence_s;
    double transfer_s;
    int32_t tracking_host, tracking_card;
} off_myo_stats;

typedef struct {
    char name[48];
    double bandwidth;
    double latency;
} off_link;

typedef struct off_card off_card;
typedef struct off_arena off_arena;
typedef struct off_kernel { const char *name; const char *params; ...; } off_kernel;

int off_card_open(const off_config *cfg, off_card **out);
int off_card_open_device(const off_config *cfg, int device, off_card *arena_of, off_card **out);
int off_card_device(const off_card *c);
int off_number_of_devices(void);
off_card *off_device(int n);
int off_offload_to(int n, const char *kernel, const off_arg *args, int nargs);
int off_card_stop(off_card *c);
void off_card_destroy(off_card *c);
int off_card_pid(const off_card *c);
int off_card_alive(off_card *c);
off_arena *off_card_arena(off_card *c);
const char *off_card_link_name(const off_card *c);
void off_card_myo_stats(off_card *c, off_myo_stats *out);

void *off_arena_malloc(off_arena *a, size_t size, size_t align);
int off_arena_free(off_arena *a, void *p);
int off_arena_contains(const off_arena *a, const void *p, size_t len);
void *off_arena_base(const off_arena *a);
size_t off_arena_size(const off_arena *a);
size_t off_arena_used(const off_arena *a);
size_t off_arena_peak(const off_arena *a);
size_t off_arena_largest_free(off_arena *a);
int off_arena_check(off_arena *a);

int off_call(off_card *c, const char *kernel, const off_arg *args, int nargs, const off_xfer *xf,
             int nxf, double *result, int *nresult);
int off_call_async(off_card *c, const char *kernel, const off_arg *args, int nargs,
                   const off_xfer *xf, int nxf, uint64_t *signal);
int off_transfer_async(off_card *c, const off_xfer *xf, int nxf, uint64_t *signal);
int off_wait_for(off_card *c, uint64_t signal, double timeout_s, double *result, int *nresult);
int off_in_flight(const off_card *c);
void off_card_stats(const off_card *c, off_stats *total, off_stats *last);
void off_card_reset_stats(off_card *c);
void off_card_memory(off_card *c, uint64_t *used, uint64_t *peak, uint64_t *buffers);

int off_run_local(const char *kernel, const off_arg *args, int nargs, int threads, double *result,
                  int *nresult);
const off_kernel *off_kernel_find(const char *name);
int off_kernel_count(void);
const off_kernel *off_kernel_at(int i);

int off_link_parse(const char *spec, off_link *out);
double off_link_time(const off_link *l, uint64_t bytes);
const char *off_link_profile_name(int i);

const char *off_last_error(void);
int off_last_error_code(void);
double off_now(void);

/* ---- the trainer (native/include/dnn.h) ---- */
#define DNN_MAX_LAYERS 16
#define DNN_MAX_WORKERS 1024
#define DNN_SIGMOID 0
#define DNN_RELU 1
#define DNN_TANH 2
#define DNN_STANH 3
#define DNN_FULL 0
#define DNN_CONV 1
#define DNN_POOL 2
#define DNN_INIT_UNIFORM 0
#define DNN_INIT_XAVIER 1
#define DNN_INIT_HE 2
#define DNN_TRAIN_CHUNK 1
#define DNN_TRAIN_BUNCH 2
#define DNN_OP_FETCH 3
#define DNN_OP_FORWARD 4
#define DNN_OP_LOSS 5
#define DNN_OP_BACKWARD 6
#define DNN_OP_UPDATE 7
#define DNN_EVAL_CHUNK 8
#define DNN_GRAD_BUNCH 9
#define DNN_UPDATE_NET 10
#define DNN_R_LOSS_SUM 0
#define DNN_R_CORRECT 1
#define DNN_R_IMAGES 2
#define DNN_R_BUNCHES 3
#define DNN_R_COUNT 4
#define DNN_WHY_LEN 160

typedef struct { int32_t C, H, W; } dnn_maps;
typedef struct { dnn_maps in, out; int32_t k; int32_t act; int32_t slice; int32_t parts; int32_t split; } dnn_conv;
typedef struct { dnn_maps in, out; int32_t p; int32_t split; } dnn_pool;

typedef struct {
    int32_t nlayers;
    int32_t sizes[17];
    int32_t activation;
    int32_t bunch;
    int32_t kind[16];
    int32_t window[16];
    dnn_maps input;
    dnn_maps placed;
    int32_t threads;
} dnn_spec;

typedef struct {
    int64_t params;
    int64_t acts;
    int64_t errs;
    int64_t w_off[16];
    int64_t b_off[16];
    int64_t w_len[16];
    int64_t b_len[16];
    dnn_conv conv[16];
    dnn_pool pool[16];
    int64_t arg_off[16];
    int64_t col_off;
    int64_t patch_off[16];
    int64_t placed_off;
    int64_t y_off[17];
    int64_t e_off[17];
    int64_t loss_off;
} dnn_layout;

typedef struct { int32_t most; int32_t pad; uint64_t seed; int64_t epoch; int64_t first; } dnn_shift;
typedef struct { float lr; float momentum; float weight_decay; float pad; dnn_shift shift; } dnn_hyper;
typedef struct { int64_t n; int64_t row0; double loss_sum; int64_t correct; } dnn_state;

#define DNN_TIMED_OPS 5
typedef struct { int64_t on; double seconds[5][16]; double waiting; int64_t lines[16]; int64_t stored[16]; } dnn_timing;

typedef struct {
    dnn_spec spec;
    dnn_layout layout;
    dnn_hyper hyper;
    dnn_state state;
    dnn_timing timing;
    ...;
} dnn_net;

typedef struct {
    int64_t rows, cols;
    int64_t cursor;
    const float *x;
    const int32_t *y;
} dnn_chunk;

int dnn_plan(const dnn_spec *spec, dnn_layout *out, char *why, size_t why_len);
void dnn_net_init(dnn_net *net, const dnn_spec *spec, const dnn_layout *layout, float *params, float *grads,
                  float *moment, float *acts, float *errs);
void dnn_init_params(dnn_net *net, int scheme, uint64_t seed);
void dnn_chunk_set(dnn_chunk *c, const float *x, const int32_t *y, int64_t rows, int64_t cols);
void dnn_set_threads(int threads);
int dnn_bunch_op(int nlayers, int step, int *layer);

/* the layers of a convolutional network on plain arrays (native/include/cnn.h): tests, workers */
void dnnBiasAct(float *Y, const float *B, int64_t rows, int64_t width, int act);
void dnnActivate(float *Y, int64_t len, int act);
void dnnActGrad(float *E, const float *Y, int64_t rows, int64_t width, int act);
void dnnColumnSums(float *Bd, const float *E, int64_t rows, int64_t width);
int64_t dnn_conv_scratch(const dnn_conv *c);
void dnnConvForward(float *Y, float *scratch, const float *X, const float *KB, int64_t n, const dnn_conv *c);
void dnnConvBackward(float *dX, float *dKB, float *scratch, const float *dZ, const float *X, const float *KB,
                     int64_t n, const dnn_conv *c);
int64_t dnn_conv_patches(const dnn_conv *c);
void dnnConvBackwardKept(float *dX, float *dKB, float *scratch, const float *patches, const float *dZ,
                         const float *KB, const dnn_conv *c);
void dnnPoolForward(float *Y, int32_t *arg, const float *X, int64_t n, const dnn_pool *p);
void dnnPoolBackward(float *dX, const float *dY, const int32_t *arg, int64_t n, const dnn_pool *p);
void dnnPlaceImages(float *dst, const float *src, int64_t n, int32_t h, int32_t w, int32_t H, int32_t W);
void dnn_shift_offsets(uint64_t seed, int64_t epoch, int64_t index, int32_t most, int32_t *dx, int32_t *dy);
void dnnPlaceShifted(float *dst, const float *src, int64_t n, int32_t h, int32_t w, int32_t H, int32_t W,
                     const dnn_shift *s, int64_t index0);
int64_t dnn_workers_floats(const dnn_spec *spec, int64_t workers); /* CHAOS workers (workers.cilk) */
dnn_net *dnn_workers_net(float *block, int64_t w);
