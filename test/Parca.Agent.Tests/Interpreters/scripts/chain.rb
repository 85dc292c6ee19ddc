# Ruby tracee of the interpreter tests (RubyEndToEndTests): known call chains with a CPU-bound leaf.
# Line numbers matter: the tests expect the frames' lines, so edit the expectations with this file.
# Each loop is on one line so that every sample of it names the same line.

def leaf(n)
  total = 0
  i = 0
  while i < n; total += i * i; i += 1; end
  total
end

def level3(n)
  leaf(n)
end

def level2(n)
  level3(n)
end

def level1(n)
  level2(n)
end

# A negative number of seconds is CPU time (a loaded machine stretches the run, never starves it).
# The straight-line statements put the loop's instructions past the first 54 of the iseq, where Ruby's line index
# is a bit vector rather than its immediate table (RubyLineTable reads both).
def spin(seconds)
  clock = seconds.negative? ? Process::CLOCK_PROCESS_CPUTIME_ID : Process::CLOCK_MONOTONIC
  a = seconds.abs; b = a + 1; c = b + 1; d = c + 1; e = d + 1; f = e + 1; g = f + 1; h = g + 1
  deadline = Process.clock_gettime(clock) + a + ((b + c + d + e + f + g + h) * 0)
  while Process.clock_gettime(clock) < deadline; level1(100_000); end
end

def worker_leaf(n)
  total = 1
  i = 0
  while i < n; total = (total * 31 + i) % 1_000_003; i += 1; end
  total
end

def worker_middle(n)
  worker_leaf(n)
end

def worker_spin(seconds)
  deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
  while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline; worker_middle(100_000); end
end

def tid
  File.readlink('/proc/thread-self').split('/').last
end

mode = ARGV[0]
seconds = Float(ARGV[1])
$stdout.sync = true
case mode
when 'chain'
  spin(seconds)
when 'threads'
  queue = Queue.new
  worker = Thread.new { queue << tid; worker_spin(seconds) }
  worker_tid = queue.pop
  puts "threads #{tid} #{worker_tid}"
  spin(seconds)
  worker.join
when 'fork'
  # Both children on one line: their <main> and block frames name the same line.
  children = [fork { spin(seconds) }, fork { spin(seconds) }]
  puts "children #{children.join(' ')}"
  children.each { |pid| Process.wait(pid) }
end
