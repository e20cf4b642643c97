# drawn by `ocf bench --plot`; run `gnuplot fig3.gp` in this directory to redraw
set datafile missing "NaN"
set grid
set key outside right top font ",9" box opaque
set style line 1 lc rgb "#1f77b4" lw 2 pt 7
set style line 2 lc rgb "#d62728" lw 2 pt 5
set style line 3 lc rgb "#2ca02c" lw 2 pt 9
set style line 4 lc rgb "#9467bd" lw 2 pt 11
set style line 5 lc rgb "#ff7f0e" lw 2 pt 13
set style line 6 lc rgb "#8c564b" lw 2 pt 3
set style line 7 lc rgb "#e377c2" lw 2 pt 1
set style line 8 lc rgb "#17becf" lw 2 pt 2
set xlabel "modulus (bits)"
set ylabel "operations/s"
set logscale x 2
set logscale y 10
set terminal svg size 1400,560 dynamic font "sans,11" background "white"
set output "fig3.svg"
set multiplot layout 1,2 title "Figure 3: RSA verifications (e = 65537) per second" font ",14"
set title "one request at a time (1 thread)"
plot \
  "fig3.dat" index 0 using 1:2 with linespoints ls 1 title "soft", \
  "fig3.dat" index 1 using 1:2 with linespoints ls 8 title "OpenSSL", \
  "fig3.dat" index 2 using 1:2 with linespoints ls 3 title "bcm5805", \
  "fig3.dat" index 3 using 1:2 with linespoints ls 4 title "bcm5820", \
  "fig3.dat" index 4 using 1:2 with linespoints ls 5 title "hifn6500", \
  "fig3.dat" index 5 using 1:2 with linespoints ls 6 title "hifn7814"
set title "24 in flight (OpenSSL: one thread per core)"
plot \
  "fig3.dat" index 6 using 1:2 with linespoints ls 1 title "soft", \
  "fig3.dat" index 7 using 1:2 with linespoints ls 8 title "OpenSSL", \
  "fig3.dat" index 8 using 1:2 with linespoints ls 3 title "bcm5805", \
  "fig3.dat" index 9 using 1:2 with linespoints ls 4 title "bcm5820", \
  "fig3.dat" index 10 using 1:2 with linespoints ls 5 title "hifn6500", \
  "fig3.dat" index 11 using 1:2 with linespoints ls 6 title "hifn7814"
unset multiplot
set terminal pngcairo size 1400,560 font "sans,10" background "white"
set output "fig3.png"
set multiplot layout 1,2 title "Figure 3: RSA verifications (e = 65537) per second" font ",14"
set title "one request at a time (1 thread)"
plot \
  "fig3.dat" index 0 using 1:2 with linespoints ls 1 title "soft", \
  "fig3.dat" index 1 using 1:2 with linespoints ls 8 title "OpenSSL", \
  "fig3.dat" index 2 using 1:2 with linespoints ls 3 title "bcm5805", \
  "fig3.dat" index 3 using 1:2 with linespoints ls 4 title "bcm5820", \
  "fig3.dat" index 4 using 1:2 with linespoints ls 5 title "hifn6500", \
  "fig3.dat" index 5 using 1:2 with linespoints ls 6 title "hifn7814"
set title "24 in flight (OpenSSL: one thread per core)"
plot \
  "fig3.dat" index 6 using 1:2 with linespoints ls 1 title "soft", \
  "fig3.dat" index 7 using 1:2 with linespoints ls 8 title "OpenSSL", \
  "fig3.dat" index 8 using 1:2 with linespoints ls 3 title "bcm5805", \
  "fig3.dat" index 9 using 1:2 with linespoints ls 4 title "bcm5820", \
  "fig3.dat" index 10 using 1:2 with linespoints ls 5 title "hifn6500", \
  "fig3.dat" index 11 using 1:2 with linespoints ls 6 title "hifn7814"
unset multiplot
set output
