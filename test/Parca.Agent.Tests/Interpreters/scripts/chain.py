# Python tracee of the interpreter tests (InterpreterEndToEndTests): known call chains with a CPU-bound leaf.
# Line numbers matter: the tests expect the frames' lines, so edit the expectations with this file.
import os
import sys
import threading
import time
import zlib


def leaf(n):
    total = 0
    for i in range(n): total += i * i
    return total


def level3(n):
    return leaf(n)


def level2(n):
    return level3(n)


def level1(n):
    return level2(n)


def spin(seconds):
    clock = time.process_time if seconds < 0 else time.monotonic; end = clock() + abs(seconds)  # < 0: CPU seconds
    while clock() < end:
        level1(100000)


def worker_leaf(n):
    total = 1
    for i in range(n): total = (total * 31 + i) % 1000003
    return total


def worker_middle(n):
    return worker_leaf(n)


def worker_spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        worker_middle(100000)


def squeeze(seconds):
    data = os.urandom(1 << 16) * 64
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        zlib.compress(data, 9)


def forked(seconds):
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            spin(seconds)
            os._exit(0)
        children.append(pid)
    print("children", *children, flush=True)
    for pid in children:
        os.waitpid(pid, 0)


def main():
    mode, seconds = sys.argv[1], float(sys.argv[2])
    if mode == "chain":
        spin(seconds)
    elif mode == "threads":
        worker = threading.Thread(target=worker_spin, args=(seconds,), name="worker")
        worker.start()
        while worker.native_id is None:
            time.sleep(0.01)
        print("threads", threading.get_native_id(), worker.native_id, flush=True)
        spin(seconds)
        worker.join()
    elif mode == "zlib":
        squeeze(seconds)
    elif mode == "fork":
        forked(seconds)


main()
