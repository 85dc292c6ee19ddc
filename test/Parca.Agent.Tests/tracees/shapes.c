/* Tracee for the unwinder's special frames, built at -O2 without frame pointers:
 *   shapes signal S  - the hot loop runs inside a SIGPROF handler (the stack crosses __restore_rt)
 *   shapes thread S  - the hot loop runs on a second thread (the stack ends at clone3 <- start_thread)
 *   shapes plt S     - the hot loop calls into libc through the PLT (strlen on a long string)
 * Runs for S seconds of wall time. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static volatile unsigned long sink;
static volatile int stop;
static char text[1 << 16];

__attribute__((noinline)) unsigned long burn(unsigned long n)
{
    unsigned long x = n;
    for (unsigned long i = 0; i < 200000; i++)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    return x;
}

__attribute__((noinline)) void on_signal(int sig)
{
    (void)sig;
    for (int i = 0; i < 20; i++)
        sink += burn(sink) + 1;
}

__attribute__((noinline)) void idle_loop(void)
{
    while (!stop)
        sink += 1;
}

__attribute__((noinline)) void *worker(void *arg)
{
    (void)arg;
    while (!stop)
        sink += burn(sink) + 1;
    return NULL;
}

__attribute__((noinline)) unsigned long measure(void)
{
    unsigned long total = 0;
    for (int i = 0; i < 100; i++)
        total += strlen(text + (sink & 7));
    return total + 1;
}

static void on_alarm(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "signal";
    double seconds = argc > 2 ? atof(argv[2]) : 5;
    memset(text, 'x', sizeof(text) - 1);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)(seconds + 0.5));
    if (strcmp(mode, "signal") == 0) {
        struct sigaction sa = {0};
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGPROF, &sa, NULL);
        struct itimerval t = {{0, 2000}, {0, 2000}};
        setitimer(ITIMER_PROF, &t, NULL);
        idle_loop();
        /* Stop the timer before printing: the handler takes longer than the 2 ms period, so with the timer on,
         * main would crawl through printf between handler runs for minutes and the samples would show the handler
         * above printf instead of above idle_loop. */
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_PROF, &off, NULL);
    } else if (strcmp(mode, "thread") == 0) {
        pthread_t thread;
        pthread_create(&thread, NULL, worker, NULL);
        pthread_join(thread, NULL);
    } else {
        while (!stop)
            sink += measure();
    }
    printf("done %lu\n", sink);
    return 0;
}
