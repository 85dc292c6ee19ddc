package tracee.chain;

import java.lang.management.ManagementFactory;

// A four-level Java call chain ending in a CPU-bound leaf, run with no JVM flags:
//   Chain.main (or Worker.run on worker threads) -> Outer.level1 -> Middle.level2 -> Inner.level3 -> Leaf.burn
// `java -cp out tracee.chain.Chain SECONDS [THREADS [wait]]`: with THREADS > 0 the chain runs on that many threads
// named worker-N (main waits), else on the main thread. With "wait" it first spins in Warm.spin (none of the chain's
// code runs, so none of it is compiled) until a line arrives on stdin. Prints its CPU time and call count at the end.
//
// Every method is written out to over 325 bytes of bytecode (HotSpot's FreqInlineSize) so that C2 compiles each
// on its own instead of inlining it into its caller: the agent does not expand inlined frames yet (docs/agent.md
// "Java stacks"), and this test is about unwinding and naming compiled frames.
public final class Chain {
    static volatile long sink;

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        long[] calls = new long[Math.max(threads, 1)];
        if (args.length > 2 && args[2].equals("wait")) {
            sink += Warm.spin();
        }
        if (threads == 0) {
            // The loop is main's own, so main runs as compiled (on-stack-replacement) code too.
            long end = System.nanoTime() + (long) (seconds * 1e9);
            long a = 1;
            while (System.nanoTime() < end) {
                a += Outer.level1(a ^ calls[0]);
                calls[0]++;
            }
            sink += a;
        } else {
            Thread[] workers = new Thread[threads];
            for (int i = 0; i < threads; i++) {
                final int n = i;
                workers[i] = new Thread(() -> calls[n] = Worker.run(seconds, n + 1), "worker-" + (i + 1));
                workers[i].start();
            }
            for (Thread t : workers) {
                t.join();
            }
        }
        long total = 0;
        for (long c : calls) {
            total += c;
        }
        double cpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
        System.out.println("cpu_seconds " + cpu + " calls " + total + " " + (sink & 1));
    }

}

final class Warm {
    static long spin() throws java.io.IOException {
        long a = 1;
        while (System.in.available() == 0) {
            for (int i = 0; i < 1_000_000; i++) {
                a = a * 0x9E3779B97F4A7C15L + i;
            }
        }
        return a;
    }
}

final class Worker {
    static long run(double seconds, long seed) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long calls = 0;
        long a = seed;
        while (System.nanoTime() < end) {
            a += Outer.level1(a ^ calls);
            calls++;
        }
        Chain.sink += a;
        return calls;
    }
}

final class Outer {
    static long level1(long seed) {
        long a = seed, b = seed ^ 0x2545F4914F6CDD1DL, c = 0;
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 17)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 3);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 18)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 4);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 19)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 5);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 20)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 6);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 21)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 7);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 22)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 8);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 23)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 9);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 24)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 10);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 25)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 11);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 26)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 12);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 27)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 13);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 28)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 3);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 29)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 4);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 17)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 5);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 18)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 6);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 19)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 7);
        return Middle.level2(a ^ b ^ c) + c;
    }
}

final class Middle {
    static long level2(long seed) {
        long a = seed, b = seed ^ 0x2545F4914F6CDD1DL, c = 0;
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 17)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 3);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 18)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 4);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 19)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 5);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 20)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 6);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 21)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 7);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 22)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 8);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 23)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 9);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 24)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 10);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 25)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 11);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 26)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 12);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 27)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 13);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 28)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 3);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 29)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 4);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 17)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 5);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 18)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 6);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 19)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 7);
        return Inner.level3(a ^ b ^ c) + c;
    }
}

final class Inner {
    static long level3(long seed) {
        long a = seed, b = seed ^ 0x2545F4914F6CDD1DL, c = 0;
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 17)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 3);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 18)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 4);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 19)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 5);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 20)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 6);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 21)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 7);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 22)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 8);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 23)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 9);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 24)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 10);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 25)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 11);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 26)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 12);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 27)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 13);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 28)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 3);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 29)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 4);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 17)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 5);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 18)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 6);
        a = a * 0x9E3779B97F4A7C15L + b;
        b = (b ^ (a >>> 19)) * 0xBF58476D1CE4E5B9L;
        c += a ^ (b << 7);
        return Leaf.burn(a ^ b ^ c) + c;
    }
}

final class Leaf {
    static long burn(long seed) {
        long a = seed, b = seed ^ 0x2545F4914F6CDD1DL, c = 0;
        for (int i = 0; i < 300; i++) {
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 17)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 3);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 18)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 4);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 19)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 5);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 20)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 6);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 21)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 7);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 22)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 8);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 23)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 9);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 24)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 10);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 25)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 11);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 26)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 12);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 27)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 13);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 28)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 3);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 29)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 4);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 17)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 5);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 18)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 6);
            a = a * 0x9E3779B97F4A7C15L + b;
            b = (b ^ (a >>> 19)) * 0xBF58476D1CE4E5B9L;
            c += a ^ (b << 7);
        }
        return a ^ b ^ c;
    }
}
