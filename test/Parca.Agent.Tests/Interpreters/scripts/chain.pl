# Perl tracee of the interpreter tests (PerlEndToEndTests): known call chains with a CPU-bound leaf.
# Line numbers matter: the tests expect the frames' lines, so edit the expectations with this file.
use strict;
use warnings;
use Time::HiRes ();

sub leaf {
    my ($n) = @_;
    my $total = 0;
    for my $i (1 .. $n) { $total += $i * $i; }
    return $total;
}

sub level3 { return leaf($_[0]); }

sub level2 { return level3($_[0]); }

sub level1 { return level2($_[0]); }

sub spin {
    my ($seconds) = @_;
    my $end = Time::HiRes::time() + $seconds;
    while (Time::HiRes::time() < $end) { level1(100000); }
}

sub worker_leaf {
    my ($n) = @_;
    my $total = 1;
    for my $i (1 .. $n) { $total = ($total * 31 + $i) % 1000003; }
    return $total;
}

sub worker_middle { return worker_leaf($_[0]); }

sub worker_spin {
    my ($seconds) = @_;
    my $end = Time::HiRes::time() + $seconds;
    while (Time::HiRes::time() < $end) { worker_middle(100000); }
}

sub gettid { return syscall(186); } # SYS_gettid on x86-64

my ($mode, $seconds) = @ARGV;
$| = 1;
if ($mode eq 'chain') {
    spin($seconds);
} elsif ($mode eq 'threads') {
    require threads;
    require Thread::Queue;
    my $queue = Thread::Queue->new();
    my $worker = threads->create(sub { $queue->enqueue(gettid()); worker_spin($seconds); });
    my $tid = $queue->dequeue();
    print "threads ", gettid(), " $tid\n";
    spin($seconds);
    $worker->join();
} elsif ($mode eq 'fork') {
    my @children;
    for (1 .. 2) {
        my $pid = fork();
        if ($pid == 0) { spin($seconds); exit(0); }
        push @children, $pid;
    }
    print "children @children\n";
    waitpid($_, 0) for @children;
}
