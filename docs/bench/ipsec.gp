# drawn by `ocf bench --plot`; run `gnuplot ipsec.gp` in this directory to redraw
set datafile missing "NaN"
set grid
set key outside bottom center font ",9" box opaque
set style line 1 lc rgb "#1f77b4" lw 2 pt 7
set style line 2 lc rgb "#d62728" lw 2 pt 5
set style line 3 lc rgb "#2ca02c" lw 2 pt 9
set style line 4 lc rgb "#9467bd" lw 2 pt 11
set style line 5 lc rgb "#ff7f0e" lw 2 pt 13
set style line 6 lc rgb "#8c564b" lw 2 pt 3
set style line 7 lc rgb "#e377c2" lw 2 pt 1
set style line 8 lc rgb "#17becf" lw 2 pt 2
set xlabel "IP packet bytes"
set ylabel "packets per CPU-second"
set logscale y 10
set terminal svg size 1400,560 dynamic font "sans,11" background "white"
set output "ipsec.svg"
set multiplot layout 1,2 title "ESP tunnel in memory, one consumer thread" font ",14"
set title "encapsulation (out)"
plot \
  "ipsec.dat" index 0 using 1:2 with linespoints ls 1 title "aes-128-gcm ocf", \
  "ipsec.dat" index 1 using 1:2 with linespoints ls 1 dt 2 title "aes-128-gcm direct", \
  "ipsec.dat" index 2 using 1:2 with linespoints ls 2 title "aes-256-gcm ocf", \
  "ipsec.dat" index 3 using 1:2 with linespoints ls 2 dt 2 title "aes-256-gcm direct", \
  "ipsec.dat" index 4 using 1:2 with linespoints ls 3 title "chacha20-poly1305 ocf", \
  "ipsec.dat" index 5 using 1:2 with linespoints ls 3 dt 2 title "chacha20-poly1305 direct", \
  "ipsec.dat" index 6 using 1:2 with linespoints ls 6 title "aes-128-cbc+hmac-sha2-256 ocf", \
  "ipsec.dat" index 7 using 1:2 with linespoints ls 6 dt 2 title "aes-128-cbc+hmac-sha2-256 direct", \
  "ipsec.dat" index 8 using 1:2 with linespoints ls 8 title "3des-cbc+hmac-sha1 ocf", \
  "ipsec.dat" index 9 using 1:2 with linespoints ls 8 dt 2 title "3des-cbc+hmac-sha1 direct"
set title "decapsulation (in)"
plot \
  "ipsec.dat" index 10 using 1:2 with linespoints ls 1 title "aes-128-gcm ocf", \
  "ipsec.dat" index 11 using 1:2 with linespoints ls 1 dt 2 title "aes-128-gcm direct", \
  "ipsec.dat" index 12 using 1:2 with linespoints ls 2 title "aes-256-gcm ocf", \
  "ipsec.dat" index 13 using 1:2 with linespoints ls 2 dt 2 title "aes-256-gcm direct", \
  "ipsec.dat" index 14 using 1:2 with linespoints ls 3 title "chacha20-poly1305 ocf", \
  "ipsec.dat" index 15 using 1:2 with linespoints ls 3 dt 2 title "chacha20-poly1305 direct", \
  "ipsec.dat" index 16 using 1:2 with linespoints ls 6 title "aes-128-cbc+hmac-sha2-256 ocf", \
  "ipsec.dat" index 17 using 1:2 with linespoints ls 6 dt 2 title "aes-128-cbc+hmac-sha2-256 direct", \
  "ipsec.dat" index 18 using 1:2 with linespoints ls 8 title "3des-cbc+hmac-sha1 ocf", \
  "ipsec.dat" index 19 using 1:2 with linespoints ls 8 dt 2 title "3des-cbc+hmac-sha1 direct"
unset multiplot
set terminal pngcairo size 1400,560 font "sans,10" background "white"
set output "ipsec.png"
set multiplot layout 1,2 title "ESP tunnel in memory, one consumer thread" font ",14"
set title "encapsulation (out)"
plot \
  "ipsec.dat" index 0 using 1:2 with linespoints ls 1 title "aes-128-gcm ocf", \
  "ipsec.dat" index 1 using 1:2 with linespoints ls 1 dt 2 title "aes-128-gcm direct", \
  "ipsec.dat" index 2 using 1:2 with linespoints ls 2 title "aes-256-gcm ocf", \
  "ipsec.dat" index 3 using 1:2 with linespoints ls 2 dt 2 title "aes-256-gcm direct", \
  "ipsec.dat" index 4 using 1:2 with linespoints ls 3 title "chacha20-poly1305 ocf", \
  "ipsec.dat" index 5 using 1:2 with linespoints ls 3 dt 2 title "chacha20-poly1305 direct", \
  "ipsec.dat" index 6 using 1:2 with linespoints ls 6 title "aes-128-cbc+hmac-sha2-256 ocf", \
  "ipsec.dat" index 7 using 1:2 with linespoints ls 6 dt 2 title "aes-128-cbc+hmac-sha2-256 direct", \
  "ipsec.dat" index 8 using 1:2 with linespoints ls 8 title "3des-cbc+hmac-sha1 ocf", \
  "ipsec.dat" index 9 using 1:2 with linespoints ls 8 dt 2 title "3des-cbc+hmac-sha1 direct"
set title "decapsulation (in)"
plot \
  "ipsec.dat" index 10 using 1:2 with linespoints ls 1 title "aes-128-gcm ocf", \
  "ipsec.dat" index 11 using 1:2 with linespoints ls 1 dt 2 title "aes-128-gcm direct", \
  "ipsec.dat" index 12 using 1:2 with linespoints ls 2 title "aes-256-gcm ocf", \
  "ipsec.dat" index 13 using 1:2 with linespoints ls 2 dt 2 title "aes-256-gcm direct", \
  "ipsec.dat" index 14 using 1:2 with linespoints ls 3 title "chacha20-poly1305 ocf", \
  "ipsec.dat" index 15 using 1:2 with linespoints ls 3 dt 2 title "chacha20-poly1305 direct", \
  "ipsec.dat" index 16 using 1:2 with linespoints ls 6 title "aes-128-cbc+hmac-sha2-256 ocf", \
  "ipsec.dat" index 17 using 1:2 with linespoints ls 6 dt 2 title "aes-128-cbc+hmac-sha2-256 direct", \
  "ipsec.dat" index 18 using 1:2 with linespoints ls 8 title "3des-cbc+hmac-sha1 ocf", \
  "ipsec.dat" index 19 using 1:2 with linespoints ls 8 dt 2 title "3des-cbc+hmac-sha1 direct"
unset multiplot
set output
