set terminal pngcairo size 1100,750 noenhanced
set output 'scale-4.png'
set logscale xy
set grid
set key outside right
set xlabel 'interfaces (N)'
set ylabel 'seconds (median, min-max)'
set title 'groupd scale benchmark: time against the number of interfaces'
set xtics (128, 2048, 32768)
plot 'scale-4-plot.dat' index 0 using 1:2:3:4 with yerrorlines title 'group message', \
     'scale-4-plot.dat' index 1 using 1:2:3:4 with yerrorlines title 'one process per link', \
     'scale-4-plot.dat' index 2 using 1:2:3:4 with yerrorlines title 'ip -batch', \
     'scale-4-plot.dat' index 3 using 1:2:3:4 with yerrorlines title 'groupd SetGroup (busctl)', \
     'scale-4-plot.dat' index 4 using 1:2:3:4 with yerrorlines title 'groupd agrees with a foreign group msg', \
     'scale-4-plot.dat' index 5 using 1:2:3:4 with yerrorlines title 'groupd SetLinkGroup', \
     'scale-4-plot.dat' index 6 using 1:2:3:4 with yerrorlines title 'ip -batch moves', \
     'scale-4-plot.dat' index 7 using 1:2:3:4 with yerrorlines title 'SetLinkGroup, open D-Bus connection', \
     'scale-4-plot.dat' index 8 using 1:2:3:4 with yerrorlines title 'moves in one sendmsg(), open netlink socket', \
     'scale-4-plot.dat' index 9 using 1:2:3:4 with yerrorlines title 'groupd start to READY'
