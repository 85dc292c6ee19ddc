/* Shared library the lifecycle tracee dlopens (built -O2 -shared -fPIC, no frame pointers): lib_run -> lib_a ->
 * lib_b -> lib_c -> lib_burn for the seconds given. */
#include <time.h>

static volatile unsigned long sink;

__attribute__((noinline)) unsigned long lib_burn(unsigned long n)
{
    unsigned long x = n;
    for (unsigned long i = 0; i < 2000000; i++)
        x = x * 2862933555777941757UL + 3037000493UL;
    return x;
}

__attribute__((noinline)) unsigned long lib_c(unsigned long n) { return lib_burn(n) + 3; }
__attribute__((noinline)) unsigned long lib_b(unsigned long n) { return lib_c(n) + 2; }
__attribute__((noinline)) unsigned long lib_a(unsigned long n) { return lib_b(n) + 1; }

unsigned long lib_run(double seconds)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        sink += lib_a(sink);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    return sink + 1;
}
