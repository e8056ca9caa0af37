# gnuplot -e "dir='kernel/bench/results'" kernel/bench/plot.gp
# Draws $dir/group-scale.svg from $dir/group-scale-stock.dat and $dir/group-scale-patched.dat
# (the lines kernel/bench/group_scale.py prints: N create up settled group batch down delete).
if (!exists("dir")) dir = "kernel/bench/results"
set terminal svg size 1200,400 dynamic font "sans,11"
set output dir."/group-scale.svg"
set logscale xy 2
set format x "%.0f"
set format y "%g"
set xlabel "up links with IPv6 (N)"
set ylabel "seconds"
set key top left
set grid
stock = dir."/group-scale-stock.dat"
patched = dir."/group-scale-patched.dat"
# a line through the patched kernel's first point, with slope 1 on log-log axes
set multiplot layout 1,3
set title "group MTU change (one request)"
plot stock u 1:5 w lp t "stock 6.12", patched u 1:5 w lp t "patched", \
     [1024:32768] 0.136*x/4096 w l dt 2 lc "gray" t "linear"
set title "per-link MTU changes (ip -batch, N requests)"
plot stock u 1:6 w lp t "stock 6.12", patched u 1:6 w lp t "patched", \
     [1024:32768] 0.544*x/4096 w l dt 2 lc "gray" t "linear"
set title "ip link set group G up, until every link-local address"
plot stock u 1:4 w lp t "stock 6.12", patched u 1:4 w lp t "patched", \
     [1024:32768] 4.0*x/4096 w l dt 2 lc "gray" t "linear"
unset multiplot
