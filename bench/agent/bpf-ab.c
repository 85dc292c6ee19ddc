// Side-by-side run time of BPF sampler builds. Each object's parca_sample_cpu is attached to its own cpu-clock
// perf event on every CPU at the same frequency, all at the same time, so every build runs under the same
// conditions (same workload, same cache and host noise); the kernel's own accounting (BPF_ENABLE_STATS while this
// runs: run_time_ns / run_cnt) is read per program. The ring buffers are drained and their records counted.
// Built and run by bpf-ab.sh; usage: bpf-ab HZ SECONDS OBJECT...
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_OBJECTS 8

static int count_record(void *ctx, void *data, size_t size)
{
    (void)data;
    (void)size;
    ++*(long *)ctx;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc - 3 > MAX_OBJECTS) {
        fprintf(stderr, "usage: %s HZ SECONDS OBJECT... (at most %d objects)\n", argv[0], MAX_OBJECTS);
        return 2;
    }
    int hz = atoi(argv[1]), seconds = atoi(argv[2]), n = argc - 3;
    int cpus = libbpf_num_possible_cpus();
    struct bpf_program *progs[MAX_OBJECTS];
    struct ring_buffer *rings[MAX_OBJECTS];
    long records[MAX_OBJECTS] = {0};

    for (int i = 0; i < n; i++) {
        struct bpf_object *obj = bpf_object__open_file(argv[3 + i], NULL);
        if (!obj || bpf_object__load(obj) != 0) {
            fprintf(stderr, "%s: open or load failed\n", argv[3 + i]);
            return 1;
        }
        progs[i] = bpf_object__find_program_by_name(obj, "parca_sample_cpu");
        struct bpf_map *samples = bpf_object__find_map_by_name(obj, "parca_samples");
        if (!progs[i] || !samples) {
            fprintf(stderr, "%s: no parca_sample_cpu program or parca_samples map\n", argv[3 + i]);
            return 1;
        }
        for (int cpu = 0; cpu < cpus; cpu++) {
            struct perf_event_attr attr = {
                .size = sizeof(attr), .type = PERF_TYPE_SOFTWARE, .config = PERF_COUNT_SW_CPU_CLOCK,
                .freq = 1, .sample_freq = (unsigned long long)hz,
            };
            int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
            if (fd < 0) {
                continue; /* offline CPU */
            }
            if (!bpf_program__attach_perf_event(progs[i], fd)) {
                perror("attaching to the perf event");
                return 1;
            }
        }
        rings[i] = ring_buffer__new(bpf_map__fd(samples), count_record, &records[i], NULL);
    }

    sleep(1);
    for (int i = 0; i < n; i++) {
        ring_buffer__consume(rings[i]);
        records[i] = 0; /* count only the measured window's records */
    }
    int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (stats < 0) {
        fprintf(stderr, "BPF_ENABLE_STATS failed (root needed)\n");
        return 1;
    }
    struct bpf_prog_info before[MAX_OBJECTS] = {0};
    for (int i = 0; i < n; i++) {
        __u32 len = sizeof(before[i]);
        bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &before[i], &len);
    }
    for (time_t end = time(NULL) + seconds; time(NULL) < end;) {
        usleep(250000);
        for (int i = 0; i < n; i++)
            ring_buffer__consume(rings[i]);
    }
    for (int i = 0; i < n; i++) {
        struct bpf_prog_info info = {0};
        __u32 len = sizeof(info);
        bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &info, &len);
        unsigned long long ns = info.run_time_ns - before[i].run_time_ns, runs = info.run_cnt - before[i].run_cnt;
        printf("%s %llu runs %.3f us/run %ld records\n", argv[3 + i], runs, runs ? ns / 1000.0 / runs : 0.0, records[i]);
    }
    close(stats);
    return 0;
}
