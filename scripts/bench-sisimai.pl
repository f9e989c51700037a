#!/usr/bin/perl
# sisimai's speed on the same files as `ndr bench`, for the comparison in scripts/bench-compare.sh:
#   perl scripts/bench-sisimai.pl [--passes N] FILE|FOLDER...
# Reads every file first (as ndr bench does), then times Sisimai::Message->new and
# Sisimai::Data->make per message, in one process on one core; the first pass warms up.
# Needs sisimai (Debian: apt-get install libsisimai-perl). Prints one JSON object.
use strict;
use warnings;
use File::Find;
use Time::HiRes qw(time);
use Sisimai;
use Sisimai::Message;
use Sisimai::Data;

my $passes = 3;
if (@ARGV >= 2 && $ARGV[0] eq '--passes') { shift; $passes = shift; }
my @files;
for my $arg (@ARGV) {
    if (-d $arg) { find({ wanted => sub { push @files, $File::Find::name if -f $_ }, no_chdir => 1 }, $arg) }
    else { push @files, $arg }
}
my @msgs;
my $bytes = 0;
for my $f (sort @files) {
    open(my $fh, '<:raw', $f) or die "$f: $!";
    local $/;
    my $data = <$fh>;
    close $fh;
    $bytes += length $data;
    push @msgs, $data;
}
my (@times, $records, $wall);
for my $pass (1 .. $passes) {
    my $start = time;
    my $found = 0;
    for my $data (@msgs) {
        my $t = time;
        # As Sisimai->make does per message, without the mailbox reader (the data is in memory).
        my $copy = $data;
        if (my $mesg = Sisimai::Message->new('data' => $copy)) {
            my $d = Sisimai::Data->make('data' => $mesg, 'origin' => 'bench');
            $found += scalar @$d if $d;
        }
        push @times, (time - $t) * 1e6 if $pass > 1;
    }
    $wall += time - $start if $pass > 1;
    $records = $found;
}
@times = sort { $a <=> $b } @times;
my $pct = sub { $times[int(@times * $_[0] / 100)] };
my $n = scalar(@msgs) * ($passes - 1);
printf "{\"sisimai\":\"%s\",\"messages\":%d,\"bytes\":%d,\"records\":%d,\"messages_per_second\":%.1f,\"us_per_message\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f}}\n",
    Sisimai->version, scalar @msgs, $bytes, $records, $n / $wall, $pct->(50), $pct->(90), $pct->(99);
