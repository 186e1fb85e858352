/* The machine's f32 FMA peak, with 256-bit (AVX2) and 512-bit (AVX-512) instructions, on
 * one thread and on two: the ceiling every matrix product here (ferrograd's, PyTorch's,
 * raw matrixmultiply's) is measured against in BENCHMARKS.md.
 *
 *     gcc -O2 -pthread benches/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 *
 * Twelve independent accumulators hide the FMA latency, so the loop is bound by FMA
 * throughput alone. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define ITERATIONS 100000000L
#define CHAINS 12

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Each returns the flops it did; `sink` keeps the results alive. */
__attribute__((target("avx2,fma"))) static double fma256(float *sink) {
    __m256 b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(-1e-7f), a[CHAINS];
    for (int i = 0; i < CHAINS; i++) a[i] = _mm256_set1_ps((float)i);
    for (long k = 0; k < ITERATIONS; k++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
    for (int i = 0; i < CHAINS; i++) *sink += _mm256_cvtss_f32(a[i]);
    return 2.0 * 8 * CHAINS * ITERATIONS;
}

__attribute__((target("avx512f"))) static double fma512(float *sink) {
    __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(-1e-7f), a[CHAINS];
    for (int i = 0; i < CHAINS; i++) a[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < ITERATIONS; k++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
    for (int i = 0; i < CHAINS; i++) *sink += _mm512_cvtss_f32(a[i]);
    return 2.0 * 16 * CHAINS * ITERATIONS;
}

struct job { double (*kernel)(float *); double flops; float sink; };

static void *run(void *arg) {
    struct job *j = arg;
    j->flops = j->kernel(&j->sink);
    return NULL;
}

static void measure(const char *name, double (*kernel)(float *), int threads) {
    pthread_t t[2];
    struct job jobs[2] = {{kernel, 0, 0}, {kernel, 0, 0}};
    double start = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, &jobs[i]);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double seconds = now() - start, flops = 0;
    for (int i = 0; i < threads; i++) flops += jobs[i].flops;
    printf("%-8s %d thread%s %6.1f GFLOP/s   (%g)\n", name, threads, threads > 1 ? "s" : " ",
           flops / seconds * 1e-9, jobs[0].sink);
}

int main(void) {
    __builtin_cpu_init();
    for (int threads = 1; threads <= 2; threads++) {
        measure("AVX2", fma256, threads);
        if (__builtin_cpu_supports("avx512f")) measure("AVX-512", fma512, threads);
    }
    return 0;
}
