# drawn by `ocf bench --plot`; run `gnuplot fig1.gp` in this directory to redraw
set datafile missing "NaN"
set grid
set key bottom right font ",9" box opaque
set style line 1 lc rgb "#1f77b4" lw 2 pt 7
set style line 2 lc rgb "#d62728" lw 2 pt 5
set style line 3 lc rgb "#2ca02c" lw 2 pt 9
set style line 4 lc rgb "#9467bd" lw 2 pt 11
set style line 5 lc rgb "#ff7f0e" lw 2 pt 13
set style line 6 lc rgb "#8c564b" lw 2 pt 3
set style line 7 lc rgb "#e377c2" lw 2 pt 1
set style line 8 lc rgb "#17becf" lw 2 pt 2
set xlabel "request size (bytes)"
set ylabel "Mbit/s"
set logscale x 2
set logscale y 10
set terminal svg size 1800,1000 dynamic font "sans,11" background "white"
set output "fig1.svg"
set multiplot layout 2,3 title "Figure 1: throughput vs request size (one consumer thread)" font ",14"
set title "null"
plot \
  "fig1.dat" index 0 using 1:2 with linespoints ls 1 title "soft, blocking", \
  "fig1.dat" index 1 using 1:2 with linespoints ls 1 dt 2 title "soft, 64 in flight", \
  "fig1.dat" index 2 using 1:2 with linespoints ls 8 title "OpenSSL direct", \
  "fig1.dat" index 3 using 1:2 with linespoints ls 3 title "ocfd, blocking (copied)", \
  "fig1.dat" index 4 using 1:2 with linespoints ls 3 dt 2 title "ocfd, 64 in flight (shared memory)"
set title "des-cbc"
plot \
  "fig1.dat" index 5 using 1:2 with linespoints ls 1 title "soft, blocking", \
  "fig1.dat" index 6 using 1:2 with linespoints ls 1 dt 2 title "soft, 64 in flight", \
  "fig1.dat" index 7 using 1:2 with linespoints ls 4 title "hifn7751-0, blocking", \
  "fig1.dat" index 8 using 1:2 with linespoints ls 4 dt 2 title "hifn7751-0, 64 in flight", \
  "fig1.dat" index 9 using 1:2 with linespoints ls 5 title "hifn7811-0, blocking", \
  "fig1.dat" index 10 using 1:2 with linespoints ls 5 dt 2 title "hifn7811-0, 64 in flight", \
  "fig1.dat" index 11 using 1:2 with linespoints ls 6 title "bcm5805-0, blocking", \
  "fig1.dat" index 12 using 1:2 with linespoints ls 6 dt 2 title "bcm5805-0, 64 in flight", \
  "fig1.dat" index 13 using 1:2 with linespoints ls 7 title "bcm5820-0, blocking", \
  "fig1.dat" index 14 using 1:2 with linespoints ls 7 dt 2 title "bcm5820-0, 64 in flight", \
  "fig1.dat" index 15 using 1:2 with linespoints ls 8 title "OpenSSL direct", \
  "fig1.dat" index 16 using 1:2 with linespoints ls 3 title "ocfd, blocking (copied)", \
  "fig1.dat" index 17 using 1:2 with linespoints ls 3 dt 2 title "ocfd, 64 in flight (shared memory)"
set title "3des-cbc"
plot \
  "fig1.dat" index 18 using 1:2 with linespoints ls 1 title "soft, blocking", \
  "fig1.dat" index 19 using 1:2 with linespoints ls 1 dt 2 title "soft, 64 in flight", \
  "fig1.dat" index 20 using 1:2 with linespoints ls 4 title "hifn7751-0, blocking", \
  "fig1.dat" index 21 using 1:2 with linespoints ls 4 dt 2 title "hifn7751-0, 64 in flight", \
  "fig1.dat" index 22 using 1:2 with linespoints ls 5 title "hifn7811-0, blocking", \
  "fig1.dat" index 23 using 1:2 with linespoints ls 5 dt 2 title "hifn7811-0, 64 in flight", \
  "fig1.dat" index 24 using 1:2 with linespoints ls 6 title "bcm5805-0, blocking", \
  "fig1.dat" index 25 using 1:2 with linespoints ls 6 dt 2 title "bcm5805-0, 64 in flight", \
  "fig1.dat" index 26 using 1:2 with linespoints ls 7 title "bcm5820-0, blocking", \
  "fig1.dat" index 27 using 1:2 with linespoints ls 7 dt 2 title "bcm5820-0, 64 in flight", \
  "fig1.dat" index 28 using 1:2 with linespoints ls 8 title "OpenSSL direct", \
  "fig1.dat" index 29 using 1:2 with linespoints ls 3 title "ocfd, blocking (copied)", \
  "fig1.dat" index 30 using 1:2 with linespoints ls 3 dt 2 title "ocfd, 64 in flight (shared memory)"
set title "aes-128-cbc"
plot \
  "fig1.dat" index 31 using 1:2 with linespoints ls 1 title "soft, blocking", \
  "fig1.dat" index 32 using 1:2 with linespoints ls 1 dt 2 title "soft, 64 in flight", \
  "fig1.dat" index 33 using 1:2 with linespoints ls 8 title "OpenSSL direct", \
  "fig1.dat" index 34 using 1:2 with linespoints ls 3 title "ocfd, blocking (copied)", \
  "fig1.dat" index 35 using 1:2 with linespoints ls 3 dt 2 title "ocfd, 64 in flight (shared memory)"
set title "aes-128-gcm"
plot \
  "fig1.dat" index 36 using 1:2 with linespoints ls 1 title "soft, blocking", \
  "fig1.dat" index 37 using 1:2 with linespoints ls 1 dt 2 title "soft, 64 in flight", \
  "fig1.dat" index 38 using 1:2 with linespoints ls 8 title "OpenSSL direct", \
  "fig1.dat" index 39 using 1:2 with linespoints ls 3 title "ocfd, blocking (copied)", \
  "fig1.dat" index 40 using 1:2 with linespoints ls 3 dt 2 title "ocfd, 64 in flight (shared memory)"
unset multiplot
set terminal pngcairo size 1800,1000 font "sans,10" background "white"
set output "fig1.png"
set multiplot layout 2,3 title "Figure 1: throughput vs request size (one consumer thread)" font ",14"
set title "null"
plot \
  "fig1.dat" index 0 using 1:2 with linespoints ls 1 title "soft, blocking", \
  "fig1.dat" index 1 using 1:2 with linespoints ls 1 dt 2 title "soft, 64 in flight", \
  "fig1.dat" index 2 using 1:2 with linespoints ls 8 title "OpenSSL direct", \
  "fig1.dat" index 3 using 1:2 with linespoints ls 3 title "ocfd, blocking (copied)", \
  "fig1.dat" index 4 using 1:2 with linespoints ls 3 dt 2 title "ocfd, 64 in flight (shared memory)"
set title "des-cbc"
plot \
  "fig1.dat" index 5 using 1:2 with linespoints ls 1 title "soft, blocking", \
  "fig1.dat" index 6 using 1:2 with linespoints ls 1 dt 2 title "soft, 64 in flight", \
  "fig1.dat" index 7 using 1:2 with linespoints ls 4 title "hifn7751-0, blocking", \
  "fig1.dat" index 8 using 1:2 with linespoints ls 4 dt 2 title "hifn7751-0, 64 in flight", \
  "fig1.dat" index 9 using 1:2 with linespoints ls 5 title "hifn7811-0, blocking", \
  "fig1.dat" index 10 using 1:2 with linespoints ls 5 dt 2 title "hifn7811-0, 64 in flight", \
  "fig1.dat" index 11 using 1:2 with linespoints ls 6 title "bcm5805-0, blocking", \
  "fig1.dat" index 12 using 1:2 with linespoints ls 6 dt 2 title "bcm5805-0, 64 in flight", \
  "fig1.dat" index 13 using 1:2 with linespoints ls 7 title "bcm5820-0, blocking", \
  "fig1.dat" index 14 using 1:2 with linespoints ls 7 dt 2 title "bcm5820-0, 64 in flight", \
  "fig1.dat" index 15 using 1:2 with linespoints ls 8 title "OpenSSL direct", \
  "fig1.dat" index 16 using 1:2 with linespoints ls 3 title "ocfd, blocking (copied)", \
  "fig1.dat" index 17 using 1:2 with linespoints ls 3 dt 2 title "ocfd, 64 in flight (shared memory)"
set title "3des-cbc"
plot \
  "fig1.dat" index 18 using 1:2 with linespoints ls 1 title "soft, blocking", \
  "fig1.dat" index 19 using 1:2 with linespoints ls 1 dt 2 title "soft, 64 in flight", \
  "fig1.dat" index 20 using 1:2 with linespoints ls 4 title "hifn7751-0, blocking", \
  "fig1.dat" index 21 using 1:2 with linespoints ls 4 dt 2 title "hifn7751-0, 64 in flight", \
  "fig1.dat" index 22 using 1:2 with linespoints ls 5 title "hifn7811-0, blocking", \
  "fig1.dat" index 23 using 1:2 with linespoints ls 5 dt 2 title "hifn7811-0, 64 in flight", \
  "fig1.dat" index 24 using 1:2 with linespoints ls 6 title "bcm5805-0, blocking", \
  "fig1.dat" index 25 using 1:2 with linespoints ls 6 dt 2 title "bcm5805-0, 64 in flight", \
  "fig1.dat" index 26 using 1:2 with linespoints ls 7 title "bcm5820-0, blocking", \
  "fig1.dat" index 27 using 1:2 with linespoints ls 7 dt 2 title "bcm5820-0, 64 in flight", \
  "fig1.dat" index 28 using 1:2 with linespoints ls 8 title "OpenSSL direct", \
  "fig1.dat" index 29 using 1:2 with linespoints ls 3 title "ocfd, blocking (copied)", \
  "fig1.dat" index 30 using 1:2 with linespoints ls 3 dt 2 title "ocfd, 64 in flight (shared memory)"
set title "aes-128-cbc"
plot \
  "fig1.dat" index 31 using 1:2 with linespoints ls 1 title "soft, blocking", \
  "fig1.dat" index 32 using 1:2 with linespoints ls 1 dt 2 title "soft, 64 in flight", \
  "fig1.dat" index 33 using 1:2 with linespoints ls 8 title "OpenSSL direct", \
  "fig1.dat" index 34 using 1:2 with linespoints ls 3 title "ocfd, blocking (copied)", \
  "fig1.dat" index 35 using 1:2 with linespoints ls 3 dt 2 title "ocfd, 64 in flight (shared memory)"
set title "aes-128-gcm"
plot \
  "fig1.dat" index 36 using 1:2 with linespoints ls 1 title "soft, blocking", \
  "fig1.dat" index 37 using 1:2 with linespoints ls 1 dt 2 title "soft, 64 in flight", \
  "fig1.dat" index 38 using 1:2 with linespoints ls 8 title "OpenSSL direct", \
  "fig1.dat" index 39 using 1:2 with linespoints ls 3 title "ocfd, blocking (copied)", \
  "fig1.dat" index 40 using 1:2 with linespoints ls 3 dt 2 title "ocfd, 64 in flight (shared memory)"
unset multiplot
set output
