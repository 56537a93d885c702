package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// sample is one timed run.
type sample struct {
	elapsed time.Duration
	rss     int64
	// cpu is the CPU time, user and system, the process used: on a
	// machine others share, it shows the process's own cost, which the
	// wall time hides in the noise.
	cpu time.Duration
}

// median returns the median duration of samples.
func median(s []sample) time.Duration {
	return medianOf(s, func(x sample) time.Duration { return x.elapsed })
}

// medianCPU returns the median CPU time of samples.
func medianCPU(s []sample) time.Duration {
	return medianOf(s, func(x sample) time.Duration { return x.cpu })
}

// medianOf returns the median of the durations f reads of samples.
func medianOf(s []sample, f func(sample) time.Duration) time.Duration {
	d := make([]time.Duration, len(s))
	for i, x := range s {
		d[i] = f(x)
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// maxRSSOf returns the largest peak RSS of samples.
func maxRSSOf(s []sample) int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.rss)
	}
	return m
}

// row is one line of the result table.
type row struct {
	target   string
	measured string // what was measured, with its figures
	ratio    float64
	bound    string // the target, e.g. "<= 1.25"
	pass     bool
}

func printTable(w io.Writer, rows []row) bool {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tMEASURED\tRATIO\tTARGET\tRESULT")
	all := true
	for _, r := range rows {
		res := "PASS"
		if !r.pass {
			res, all = "FAIL", false
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\t%s\n", r.target, r.measured, r.ratio, r.bound, res)
	}
	tw.Flush()
	return all
}

func rate(n int64, d time.Duration) string {
	return fmt.Sprintf("%.0f/s", float64(n)/d.Seconds())
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func durs(s []sample) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = x.elapsed.Round(10 * time.Millisecond).String()
	}
	return strings.Join(parts, " ")
}
