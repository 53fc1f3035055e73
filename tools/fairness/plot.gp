# Plots of tools/fairness (run by the harness): CPU share and throughput per tenant over time,
# one panel per policy. Variables: data (fairness_plot.dat: one block per policy, columns t,
# three shares in %, three throughputs in kpps) and outdir.
set terminal pngcairo size 1500,450 font ",10"
set datafile separator " "
set key top right
set grid
policies = "fifo tokens cfs"
titles = "victim-a victim-b adversary"

set output outdir."/fairness_cpu_share.png"
set multiplot layout 1,3 title "CPU share of the worker per tenant (busy CPU split by packets served x cost alone), victim-b idle in the middle third"
set yrange [0:100]
set xlabel "time (s)"
set ylabel "CPU share (%)"
do for [p=1:3] {
  set title word(policies, p)
  plot for [i=1:3] data index (p-1) using 1:(column(1+i)) with lines lw 2 title word(titles, i)
}
unset multiplot

set output outdir."/fairness_throughput.png"
set multiplot layout 1,3 title "Throughput per tenant (packets inspected per second, log scale)"
# Log scale so the adversary's few packets show beside the victims'; an idle interval (0) is
# left out of its line.
set logscale y
set yrange [1:2000]
set ylabel "kpps"
do for [p=1:3] {
  set title word(policies, p)
  plot for [i=1:3] data index (p-1) using 1:(column(4+i)) with lines lw 2 title word(titles, i)
}
unset multiplot
