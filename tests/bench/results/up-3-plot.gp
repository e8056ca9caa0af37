set terminal pngcairo size 1200,860 font ',9'
set output 'up-3.png'
set logscale xy
set key left top font ',8'
set grid
set multiplot layout 2,1
set title 'time of the operation (s), median with min-max'
set xlabel 'ifb links in the group'
plot 'up-3-plot.dat' index 0 using 1:2:3:4 with yerrorlines title 'mtu, IPv6 on: group message', \
     'up-3-plot.dat' index 1 using 1:2:3:4 with yerrorlines title 'mtu, IPv6 on: ip -batch, one line per link', \
     'up-3-plot.dat' index 2 using 1:2:3:4 with yerrorlines title 'mtu, IPv6 on: SetGroup', \
     'up-3-plot.dat' index 3 using 1:2:3:4 with yerrorlines title 'mtu, IPv6 off: group message', \
     'up-3-plot.dat' index 4 using 1:2:3:4 with yerrorlines title 'mtu, IPv6 off: ip -batch, one line per link', \
     'up-3-plot.dat' index 5 using 1:2:3:4 with yerrorlines title 'mtu, IPv6 off: SetGroup', \
     'up-3-plot.dat' index 6 using 1:2:3:4 with yerrorlines title 'up, IPv6 on: group message', \
     'up-3-plot.dat' index 7 using 1:2:3:4 with yerrorlines title 'up, IPv6 on: ip -batch, one line per link', \
     'up-3-plot.dat' index 8 using 1:2:3:4 with yerrorlines title 'up, IPv6 on: SetGroup', \
     'up-3-plot.dat' index 9 using 1:2:3:4 with yerrorlines title 'up, IPv6 off: group message', \
     'up-3-plot.dat' index 10 using 1:2:3:4 with yerrorlines title 'up, IPv6 off: ip -batch, one line per link', \
     'up-3-plot.dat' index 11 using 1:2:3:4 with yerrorlines title 'up, IPv6 off: SetGroup', \
     'up-3-plot.dat' index 12 using 1:2:3:4 with yerrorlines title 'up-ready, IPv6 on: group message', \
     'up-3-plot.dat' index 13 using 1:2:3:4 with yerrorlines title 'up-ready, IPv6 on: ip -batch, one line per link', \
     'up-3-plot.dat' index 14 using 1:2:3:4 with yerrorlines title 'up-ready, IPv6 on: SetGroup', \
     'up-3-plot.dat' index 15 using 1:2:3:4 with yerrorlines title 'down-mtu, IPv6 on: group message', \
     'up-3-plot.dat' index 16 using 1:2:3:4 with yerrorlines title 'down-mtu, IPv6 on: ip -batch, one line per link', \
     'up-3-plot.dat' index 17 using 1:2:3:4 with yerrorlines title 'down-mtu, IPv6 on: SetGroup'
set title 'longest wait of a probe in another namespace (s): the RTNL hold'
plot 'up-3-plot.dat' index 0 using 1:5 with linespoints title 'mtu, IPv6 on: group message', \
     'up-3-plot.dat' index 1 using 1:5 with linespoints title 'mtu, IPv6 on: ip -batch, one line per link', \
     'up-3-plot.dat' index 2 using 1:5 with linespoints title 'mtu, IPv6 on: SetGroup', \
     'up-3-plot.dat' index 3 using 1:5 with linespoints title 'mtu, IPv6 off: group message', \
     'up-3-plot.dat' index 4 using 1:5 with linespoints title 'mtu, IPv6 off: ip -batch, one line per link', \
     'up-3-plot.dat' index 5 using 1:5 with linespoints title 'mtu, IPv6 off: SetGroup', \
     'up-3-plot.dat' index 6 using 1:5 with linespoints title 'up, IPv6 on: group message', \
     'up-3-plot.dat' index 7 using 1:5 with linespoints title 'up, IPv6 on: ip -batch, one line per link', \
     'up-3-plot.dat' index 8 using 1:5 with linespoints title 'up, IPv6 on: SetGroup', \
     'up-3-plot.dat' index 9 using 1:5 with linespoints title 'up, IPv6 off: group message', \
     'up-3-plot.dat' index 10 using 1:5 with linespoints title 'up, IPv6 off: ip -batch, one line per link', \
     'up-3-plot.dat' index 11 using 1:5 with linespoints title 'up, IPv6 off: SetGroup', \
     'up-3-plot.dat' index 12 using 1:5 with linespoints title 'up-ready, IPv6 on: group message', \
     'up-3-plot.dat' index 13 using 1:5 with linespoints title 'up-ready, IPv6 on: ip -batch, one line per link', \
     'up-3-plot.dat' index 14 using 1:5 with linespoints title 'up-ready, IPv6 on: SetGroup', \
     'up-3-plot.dat' index 15 using 1:5 with linespoints title 'down-mtu, IPv6 on: group message', \
     'up-3-plot.dat' index 16 using 1:5 with linespoints title 'down-mtu, IPv6 on: ip -batch, one line per link', \
     'up-3-plot.dat' index 17 using 1:5 with linespoints title 'down-mtu, IPv6 on: SetGroup', 0.1 with lines dashtype 2 lw 2 title '100 ms'
unset multiplot
