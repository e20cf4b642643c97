# drawn by `ocf bench --plot`; run `gnuplot table1.gp` in this directory to redraw
set datafile missing "NaN"
set grid
set key top left font ",9" box opaque
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
set yrange [0:*]
set terminal svg size 900,600 dynamic font "sans,11" background "white"
set output "table1.svg"
set title "Table 1: 3DES over four Hifn 7751 cards (dashed: the paper)"
plot \
  "table1.dat" index 0 using 1:2 with linespoints ls 1 title "1 thread", \
  "table1.dat" index 1 using 1:2 with linespoints ls 1 dt 2 title "paper, 1 thread", \
  "table1.dat" index 2 using 1:2 with linespoints ls 2 title "2 threads", \
  "table1.dat" index 3 using 1:2 with linespoints ls 2 dt 2 title "paper, 2 threads", \
  "table1.dat" index 4 using 1:2 with linespoints ls 3 title "3 threads", \
  "table1.dat" index 5 using 1:2 with linespoints ls 3 dt 2 title "paper, 3 threads", \
  "table1.dat" index 6 using 1:2 with linespoints ls 4 title "4 threads", \
  "table1.dat" index 7 using 1:2 with linespoints ls 4 dt 2 title "paper, 4 threads", \
  "table1.dat" index 8 using 1:2 with linespoints ls 5 title "32 threads", \
  "table1.dat" index 9 using 1:2 with linespoints ls 5 dt 2 title "paper, 32 threads"
set terminal pngcairo size 900,600 font "sans,10" background "white"
set output "table1.png"
set title "Table 1: 3DES over four Hifn 7751 cards (dashed: the paper)"
plot \
  "table1.dat" index 0 using 1:2 with linespoints ls 1 title "1 thread", \
  "table1.dat" index 1 using 1:2 with linespoints ls 1 dt 2 title "paper, 1 thread", \
  "table1.dat" index 2 using 1:2 with linespoints ls 2 title "2 threads", \
  "table1.dat" index 3 using 1:2 with linespoints ls 2 dt 2 title "paper, 2 threads", \
  "table1.dat" index 4 using 1:2 with linespoints ls 3 title "3 threads", \
  "table1.dat" index 5 using 1:2 with linespoints ls 3 dt 2 title "paper, 3 threads", \
  "table1.dat" index 6 using 1:2 with linespoints ls 4 title "4 threads", \
  "table1.dat" index 7 using 1:2 with linespoints ls 4 dt 2 title "paper, 4 threads", \
  "table1.dat" index 8 using 1:2 with linespoints ls 5 title "32 threads", \
  "table1.dat" index 9 using 1:2 with linespoints ls 5 dt 2 title "paper, 32 threads"
set output
