# drawn by `ocf bench --plot`; run `gnuplot fig4.gp` in this directory to redraw
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
set xlabel "crypto threads"
set ylabel "hog elapsed time (s)"
set yrange [0:*]
set terminal svg size 900,600 dynamic font "sans,11" background "white"
set output "fig4.svg"
set title "Figure 4: CPU-bound process elapsed time while threads do crypto"
plot \
  "fig4.dat" index 0 using 1:2 with linespoints ls 1 title "DES, software", \
  "fig4.dat" index 1 using 1:2 with linespoints ls 2 title "3DES, software", \
  "fig4.dat" index 2 using 1:2 with linespoints ls 3 title "DSA-1024, software", \
  "fig4.dat" index 3 using 1:2 with linespoints ls 4 title "DES, bcm5820 model", \
  "fig4.dat" index 4 using 1:2 with linespoints ls 5 title "3DES, bcm5820 model", \
  "fig4.dat" index 5 using 1:2 with linespoints ls 6 title "DSA-1024, bcm5820 model"
set terminal pngcairo size 900,600 font "sans,10" background "white"
set output "fig4.png"
set title "Figure 4: CPU-bound process elapsed time while threads do crypto"
plot \
  "fig4.dat" index 0 using 1:2 with linespoints ls 1 title "DES, software", \
  "fig4.dat" index 1 using 1:2 with linespoints ls 2 title "3DES, software", \
  "fig4.dat" index 2 using 1:2 with linespoints ls 3 title "DSA-1024, software", \
  "fig4.dat" index 3 using 1:2 with linespoints ls 4 title "DES, bcm5820 model", \
  "fig4.dat" index 4 using 1:2 with linespoints ls 5 title "3DES, bcm5820 model", \
  "fig4.dat" index 5 using 1:2 with linespoints ls 6 title "DSA-1024, bcm5820 model"
set output
