set terminal pngcairo size 1200,860 font ',9'
set output 'up-txqlen.png'
set logscale xy
set key left top font ',8'
set grid
set multiplot layout 2,1
set title 'time of the operation (s), median with min-max'
set xlabel 'ifb links in the group'
plot 'up-txqlen-plot.dat' index 0 using 1:2:3:4 with yerrorlines title 'txqlen, IPv6 off: group message', \
     'up-txqlen-plot.dat' index 1 using 1:2:3:4 with yerrorlines title 'txqlen, IPv6 off: ip -batch, one line per link', \
     'up-txqlen-plot.dat' index 2 using 1:2:3:4 with yerrorlines title 'txqlen, IPv6 off: SetGroup', \
     'up-txqlen-plot.dat' index 3 using 1:2:3:4 with yerrorlines title 'txqlen, IPv6 on: group message', \
     'up-txqlen-plot.dat' index 4 using 1:2:3:4 with yerrorlines title 'txqlen, IPv6 on: ip -batch, one line per link', \
     'up-txqlen-plot.dat' index 5 using 1:2:3:4 with yerrorlines title 'txqlen, IPv6 on: SetGroup'
set title 'longest wait of a probe in another namespace (s): the RTNL hold'
plot 'up-txqlen-plot.dat' index 0 using 1:5 with linespoints title 'txqlen, IPv6 off: group message', \
     'up-txqlen-plot.dat' index 1 using 1:5 with linespoints title 'txqlen, IPv6 off: ip -batch, one line per link', \
     'up-txqlen-plot.dat' index 2 using 1:5 with linespoints title 'txqlen, IPv6 off: SetGroup', \
     'up-txqlen-plot.dat' index 3 using 1:5 with linespoints title 'txqlen, IPv6 on: group message', \
     'up-txqlen-plot.dat' index 4 using 1:5 with linespoints title 'txqlen, IPv6 on: ip -batch, one line per link', \
     'up-txqlen-plot.dat' index 5 using 1:5 with linespoints title 'txqlen, IPv6 on: SetGroup', 0.1 with lines dashtype 2 lw 2 title '100 ms'
unset multiplot
