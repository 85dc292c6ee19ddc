/* A hostile tracee: runs its hot loop in anonymous executable memory (so the agent looks for its perf map), drops
 * to nobody (65534) and then makes /tmp/perf-PID.map something a root agent must not read:
 *   fifo    a FIFO (a blocking open or read would hang the reader for good)
 *   zero    a symlink to /dev/zero (an endless file)
 *   shadow  a symlink to /etc/shadow (a secret the process could not read itself)
 *   big     a 1 GiB sparse regular file
 * Prints "ready PID" once the file exists, then spins until killed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* mov rcx, rdi; 1: dec rcx; jnz 1b; mov rax, rdi; ret */
static const unsigned char spin_code[] = {0x48, 0x89, 0xf9, 0x48, 0xff, 0xc9, 0x75, 0xfb, 0x48, 0x89, 0xf8, 0xc3};

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "fifo";
    void *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) { perror("mmap"); return 1; }
    memcpy(code, spin_code, sizeof spin_code);
    unsigned long (*spin)(unsigned long) = (unsigned long (*)(unsigned long))code;

    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%d.map", getpid());
    /* A map left by an earlier process with this PID (pid_max is 32768; .NET processes the agent profiled leave
       theirs) would make the create below fail once this process is nobody: remove it while still root. */
    unlink(path);

    if (setgid(65534) != 0 || setuid(65534) != 0) { perror("setuid nobody"); return 1; }
    int rc = 0;
    if (strcmp(mode, "fifo") == 0) rc = mkfifo(path, 0644);
    else if (strcmp(mode, "zero") == 0) rc = symlink("/dev/zero", path);
    else if (strcmp(mode, "shadow") == 0) rc = symlink("/etc/shadow", path);
    else if (strcmp(mode, "big") == 0) {
        int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        rc = fd < 0 ? -1 : ftruncate(fd, 1L << 30);
        if (fd >= 0) close(fd);
    }
    if (rc != 0) { perror(path); return 1; }
    printf("ready %d\n", getpid());
    fflush(stdout);

    volatile unsigned long sink = 0;
    for (;;) sink += spin(1000000);
}
