/* Benchmark tracee: burn() under 17 distinct callers and main, so with _start, __libc_start_main and libc's
 * __libc_start_call_main a sample has 21 user frames. Built at -O2 without frame pointers for the unwinder's
 * benchmark (bench/agent/unwind-runtime.sh) and with them for the frame-pointer walk next to it. Runs argv[1] s. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

__attribute__((noinline)) unsigned long burn(unsigned long n)
{
    unsigned long x = n;
    for (unsigned long i = 0; i < 2000000; i++)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    return x;
}

#define LEVEL(name, callee) \
    __attribute__((noinline)) unsigned long name(unsigned long n) { unsigned long r = callee(n + 1); sink = r; return r + 1; }
LEVEL(f1, burn) LEVEL(f2, f1) LEVEL(f3, f2) LEVEL(f4, f3) LEVEL(f5, f4) LEVEL(f6, f5) LEVEL(f7, f6) LEVEL(f8, f7)
LEVEL(f9, f8) LEVEL(f10, f9) LEVEL(f11, f10) LEVEL(f12, f11) LEVEL(f13, f12) LEVEL(f14, f13) LEVEL(f15, f14)
LEVEL(f16, f15) LEVEL(f17, f16)

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 5;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        sink += f17(sink);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    return 0;
}
