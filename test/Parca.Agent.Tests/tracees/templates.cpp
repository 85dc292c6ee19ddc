// C++ tracee: the hot loop sits under template instantiations and a try/catch that throws now and then, built at
// -O2 without frame pointers. Runs for argv[1] seconds.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

static volatile unsigned long sink;

template <typename T> struct Mixer {
    __attribute__((noinline)) static T spin(T n)
    {
        T x = n;
        for (int i = 0; i < 2000000; i++)
            x = x * static_cast<T>(6364136223846793005ULL) + static_cast<T>(1442695040888963407ULL);
        return x;
    }
};

template <typename T, int Depth> struct Layer {
    __attribute__((noinline)) static T run(T n) { return Layer<T, Depth - 1>::run(n) + Depth; }
};

template <typename T> struct Layer<T, 0> {
    __attribute__((noinline)) static T run(T n)
    {
        T r = Mixer<T>::spin(n);
        if ((r & 0xff) == 0)
            throw std::runtime_error("rare");
        return r;
    }
};

__attribute__((noinline)) unsigned long guarded(unsigned long n)
{
    try {
        return Layer<unsigned long, 3>::run(n) + 1;
    } catch (const std::exception &) {
        return 7;
    }
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? std::atof(argv[1]) : 5;
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds)
        sink += guarded(sink);
    std::printf("done %lu\n", sink);
    return 0;
}
