# Benchmark tracee (bench/agent/interp-runtime.sh): a Python stack 30 frames deep with a CPU-bound leaf.
import sys


def leaf(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def deep(depth, n):
    if depth <= 1:
        return leaf(n)
    return deep(depth - 1, n)


def main():
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    # <module>, main and leaf are three of the frames: deep() makes the rest
    while True:
        deep(depth - 3, 100000)


main()
