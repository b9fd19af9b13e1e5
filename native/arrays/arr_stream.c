/* arr_stream.c — results written past the caches (non-temporal stores), for outputs too large
 * to be read back from cache anyway.
 *
 * An ordinary store to a line not in cache first reads the line (to own it), then writes it
 * back later: a kernel whose output exceeds the caches moves its output bytes twice over the
 * memory bus. A streaming store writes the line once. Kernels keep their vectorised loops:
 * arr_streamed has them compute a chunk into a small buffer (it stays in L1) and streams
 * the chunk out from there. */
#include "arr.h"

#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

int arr_stream_worth(int64_t bytes) { return bytes >= ARR_STREAM_MIN_BYTES; }

/* dst[0:bytes] = src[0:bytes]; whole 64-byte lines of dst with streaming stores */
static void arr_stream_copy(char *dst, const char *src, int64_t bytes)
{
    const int64_t head = arr_min64(bytes, (int64_t)(-(uintptr_t)dst & 63));
    memcpy(dst, src, (size_t)head);
    dst += head, src += head, bytes -= head;
#if defined(__AVX512F__)
    for (; bytes >= 64; bytes -= 64, dst += 64, src += 64)
        _mm512_stream_si512((void *)dst, _mm512_loadu_si512((const void *)src));
#elif defined(__AVX__)
    for (; bytes >= 32; bytes -= 32, dst += 32, src += 32)
        _mm256_stream_si256((__m256i *)dst, _mm256_loadu_si256((const __m256i *)src));
#elif defined(__x86_64__)
    for (; bytes >= 16; bytes -= 16, dst += 16, src += 16)
        _mm_stream_si128((__m128i *)dst, _mm_loadu_si128((const __m128i *)src));
#endif
    memcpy(dst, src, (size_t)bytes);
}

void arr_streamed(arr_fill_fn fill, const void *ctx, void *z, int64_t n, int64_t itemsize)
{
    _Alignas(64) char chunk[ARR_STREAM_CHUNK * 8]; /* 8: the largest element */
    for (int64_t c = 0; c < n; c += ARR_STREAM_CHUNK) {
        const int64_t k = arr_min64(ARR_STREAM_CHUNK, n - c);
        fill(chunk, c, k, ctx);
        arr_stream_copy((char *)z + c * itemsize, chunk, k * itemsize);
    }
#if defined(__x86_64__)
    _mm_sfence(); /* streaming stores are weakly ordered: visible before the task counts as done */
#endif
}
