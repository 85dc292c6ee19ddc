namespace Parca.TestSupport;

/// <summary>
/// The C program the symbolization tests compile with gcc -O2 -g: <c>square</c> and <c>poly</c> inline into
/// <c>accumulate</c>, which inlines into the non-inlined <c>busy</c>, so its addresses have inline chains three deep
/// (DWARF inlined subroutines, call lines and columns) for comparison with binutils' <c>addr2line -i -f</c>.
/// </summary>
public static class InlineCProgram
{
    public const string Source = """
        #include <stdio.h>
        #include <stdlib.h>
        static inline int square(int x) { return x * x; }
        static inline int poly(int x) { int s = square(x); return s + 3 * x + 1; }
        static int accumulate(int n) {
            int total = 0;
            for (int i = 0; i < n; i++) total += poly(i) ^ (total >> 3);
            return total;
        }
        __attribute__((noinline)) int busy(int n) {
            int r = 0;
            for (int k = 0; k < n; k++) r += accumulate(k % 97 + 1);
            return r;
        }
        int main(int argc, char **argv) {
            int n = argc > 1 ? atoi(argv[1]) : 1000;
            printf("%d\n", busy(n));
            return 0;
        }
        """;
}
