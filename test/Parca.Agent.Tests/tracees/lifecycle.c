/* Tracee for the unwinder's lifecycle tests, built at -O2 without frame pointers. Its arguments are steps run in
 * order:
 *   bN        burn for N seconds in main -> step_burn -> a -> b -> c -> burn
 *   w         wait (no CPU) for a line on stdin: the test acts (deletes the binary, waits for eviction) meanwhile
 *   sN        sleep N seconds
 *   dLIB:N    dlopen LIB and run its lib_run(N) (main -> run_library -> lib_run -> lib_a -> lib_b -> lib_c -> lib_burn)
 *   xPATH     execv PATH with the remaining steps as its arguments (same PID, another program)
 * TAG (a -D define) is printed so that builds with different tags are different files with different build ids. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef TAG
#define TAG 0
#endif

static volatile unsigned long sink;

__attribute__((noinline)) unsigned long burn(unsigned long n)
{
    unsigned long x = n;
    for (unsigned long i = 0; i < 2000000; i++)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    return x;
}

__attribute__((noinline)) unsigned long c(unsigned long n) { return burn(n) + 3; }
__attribute__((noinline)) unsigned long b(unsigned long n) { return c(n) + 2; }
__attribute__((noinline)) unsigned long a(unsigned long n) { return b(n) + 1; }

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((noinline)) int step_burn(double seconds)
{
    double end = now() + seconds;
    while (now() < end)
        sink += a(sink);
    return (int)(sink & 1);
}

__attribute__((noinline)) int run_library(const char *spec)
{
    char path[4096];
    const char *colon = strrchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n >= sizeof(path))
        return 1;
    memcpy(path, spec, n);
    path[n] = 0;
    void *lib = dlopen(path, RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        exit(2);
    }
    unsigned long (*run)(double) = (unsigned long (*)(double))dlsym(lib, "lib_run");
    if (!run)
        exit(3);
    sink += run(colon ? atof(colon + 1) : 3);
    return (int)(sink & 1);
}

int main(int argc, char **argv)
{
    int r = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (s[0] == 'b') {
            r += step_burn(atof(s + 1));
        } else if (s[0] == 's') {
            usleep((useconds_t)(atof(s + 1) * 1e6));
        } else if (s[0] == 'w') {
            char line[64];
            if (!fgets(line, sizeof(line), stdin))
                return 4;
        } else if (s[0] == 'd') {
            r += run_library(s + 1);
        } else if (s[0] == 'x') {
            argv[i] = (char *)s + 1;
            execv(s + 1, argv + i);
            perror("execv");
            return 5;
        }
    }
    printf("tag %d done %d %lu\n", TAG, r, sink);
    return 0;
}
