# Benchmark tracee (bench/agent/interp-runtime.sh with INTERP=ruby): a Ruby stack 30 frames deep with a CPU-bound leaf.

def leaf(n)
  total = 0
  i = 0
  while i < n; total += i * i; i += 1; end
  total
end

def deep(depth, n)
  return leaf(n) if depth <= 1

  deep(depth - 1, n)
end

def main(depth)
  # <main>, main and leaf are three of the frames: deep makes the rest
  loop { deep(depth - 3, 100_000) }
end

main(ARGV.fetch(0, '30').to_i)
