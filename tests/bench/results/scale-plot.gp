set terminal pngcairo size 1100,750 noenhanced
set output 'scale.png'
set logscale xy
set grid
set key outside right
set xlabel 'interfaces (N)'
set ylabel 'seconds (median, min-max)'
set title 'groupd scale benchmark: time against the number of interfaces'
set xtics (128, 256, 512, 1024, 2048, 8192, 32768)
plot 'scale-plot.dat' index 0 using 1:2:3:4 with yerrorlines title 'group message', \
     'scale-plot.dat' index 1 using 1:2:3:4 with yerrorlines title 'one process per link', \
     'scale-plot.dat' index 2 using 1:2:3:4 with yerrorlines title 'ip -batch', \
     'scale-plot.dat' index 3 using 1:2:3:4 with yerrorlines title 'groupd SetGroup (busctl)', \
     'scale-plot.dat' index 4 using 1:2:3:4 with yerrorlines title 'groupd agrees with a foreign group msg', \
     'scale-plot.dat' index 5 using 1:2:3:4 with yerrorlines title 'groupd SetLinkGroup', \
     'scale-plot.dat' index 6 using 1:2:3:4 with yerrorlines title 'ip -batch moves', \
     'scale-plot.dat' index 7 using 1:2:3:4 with yerrorlines title 'groupd start to READY', \
     'scale-plot.dat' index 8 using 1:2:3:4 with yerrorlines title 'group message, UP', \
     'scale-plot.dat' index 9 using 1:2:3:4 with yerrorlines title 'SetGroup, UP', \
     'scale-plot.dat' index 10 using 1:2:3:4 with yerrorlines title 'ip -batch, UP', \
     'scale-plot.dat' index 11 using 1:2:3:4 with yerrorlines title 'systemd-networkd, start to all MTUs', \
     'scale-plot.dat' index 12 using 1:2:3:4 with yerrorlines title 'systemd-networkd, reload to all MTUs', \
     'scale-plot.dat' index 13 using 1:2:3:4 with yerrorlines title 'NetworkManager Reapply to all MTUs'
