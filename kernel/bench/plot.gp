# gnuplot -e "dir='kernel/bench/results'" kernel/bench/plot.gp
# Draws $dir/group-scale.svg from $dir/group-scale-stock.dat and $dir/group-scale-patched.dat
# (kernel/bench/group_scale.py: N create up settled group batch down delete addr_add addr_del).
# Log-log axes; the dashed line has slope 1 (linear growth) through the patched 4096 point.
if (!exists("dir")) dir = "kernel/bench/results"
stock = dir."/group-scale-stock.dat"
patched = dir."/group-scale-patched.dat"
set terminal svg size 1600,420 dynamic font "sans,11"
set output dir."/group-scale.svg"
set logscale xy 2
set format x "%.0f"
set format y "%g"
set xrange [768:43000]
set xlabel "up links with IPv6 (N)"
set ylabel "seconds"
set key top left
set grid
set multiplot layout 1,4
do for [c in "5 6 4 7"] {
    col = int(c)
    stats patched u ($1 == 4096 ? column(col) : 1/0) nooutput
    ref = STATS_max
    set title (col == 5 ? "group MTU change (one request)" : \
               col == 6 ? "per-link MTU changes (N requests)" : \
               col == 4 ? "ip link set group G up (until every link-local)" : \
                          "ip link set group G down")
    plot stock u 1:col w lp pt 7 t "stock 6.12", patched u 1:col w lp pt 5 t "patched", \
         [1024:32768] ref * x / 4096 w l dt 2 lc "gray" t "linear"
}
unset multiplot
