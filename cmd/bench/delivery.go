package main

import (
	"context"
	"fmt"
	"time"
)

// variant is one setting of the integrator the delivery rows measure: its
// defaults, and with -template, BODY_TEMPLATE.
type variant struct {
	name string   // appended to the rows' targets
	env  []string // added to the integrator's environment
}

// variants returns the settings the delivery rows measure.
func (b *bench) variants() []variant {
	vs := []variant{{}}
	if b.template != "" {
		vs = append(vs, variant{name: ", BODY_TEMPLATE", env: []string{"BODY_TEMPLATE=" + b.template}})
	}
	return vs
}

// delivery measures targets 2, 3, 4 and the integrator's part of 5; with
// -template, for the integrator's defaults and with BODY_TEMPLATE, and how
// much of each ratio the template keeps. Every integrator run follows a run
// of the plain client, as without -template (a run's writes would slow
// the next one: its checkpoint, its vacuum), and the variants take turns
// going first.
func (b *bench) delivery(ctx context.Context) ([]row, error) {
	vs := b.variants()
	refs := make([][]sample, len(vs)) // the plain client's runs before each variant's
	prod := make([][]delivery, len(vs))
	for i := 0; i < b.runs; i++ {
		for k := range vs {
			j := (i + k) % len(vs)
			v := vs[j]
			r, err := b.plainClient(ctx, b.n, 8)
			if err != nil {
				return nil, err
			}
			refs[j] = append(refs[j], sample{elapsed: r})
			d, err := b.deliver(ctx, b.n, 8, 0, v.env...)
			if err != nil {
				return nil, err
			}
			prod[j] = append(prod[j], d)
			b.logf("delivery run %d%s: plain client %s (%s), integrator %s (%s, %s CPU); first 10%% %s, last 10%% %s",
				i+1, v.name, r.Round(1e7), rate(b.n, r), d.total.Round(1e7), rate(b.n, d.total), d.cpu.Round(1e7), d.first.Round(1e7), d.last.Round(1e7))
		}
	}
	var rows, kept []row
	ratios := make([][]float64, len(vs)) // each variant's ratios, row by row
	totals := make([][]sample, len(vs))
	for j, v := range vs {
		totals[j] = make([]sample, len(prod[j]))
		for i, d := range prod[j] {
			totals[j][i] = sample{elapsed: d.total, rss: d.rss}
		}
		prodT, refT := median(totals[j]), median(refs[j])
		if j == 0 {
			b.deliverTime = prodT
		}
		r := row{
			target:   fmt.Sprintf("2. deliver %d records, WORKERS=8, instant CRM, vs plain client%s", b.n, v.name),
			measured: fmt.Sprintf("plain %s, integrator %s (marked sent)", rate(b.n, refT), rate(b.n, prodT)),
			ratio:    refT.Seconds() / prodT.Seconds(), bound: ">= 0.70",
		}
		r.pass = r.ratio >= 0.7
		rows = append(rows, r)
		ratios[j] = append(ratios[j], r.ratio)

		// Scale: the last tenth as fast as the first (median over runs).
		var firsts, lasts []sample
		for _, d := range prod[j] {
			firsts = append(firsts, sample{elapsed: d.first})
			lasts = append(lasts, sample{elapsed: d.last})
		}
		f, l := median(firsts), median(lasts)
		tenth := b.n / 10
		rows = append(rows, row{
			target:   fmt.Sprintf("4. delivery rate, last vs first %d of %d%s", tenth, b.n, v.name),
			measured: fmt.Sprintf("first %s, last %s", rate(tenth, f), rate(tenth, l)),
			ratio:    f.Seconds() / l.Seconds(), bound: ">= 0.90",
			pass: f.Seconds()/l.Seconds() >= 0.9,
		})
		ratios[j] = append(ratios[j], f.Seconds()/l.Seconds())
	}

	// Latency-bound: 50 ms per request.
	for i, w := range []int{8, 64} {
		n := int64(w) * 20 * b.latencySeconds // about latencySeconds at the ideal rate
		for k := range vs {
			j := (i + k) % len(vs)
			v := vs[j]
			d, err := b.deliver(ctx, n, w, 50*time.Millisecond, v.env...)
			if err != nil {
				return nil, err
			}
			ideal := float64(w) / 0.05
			got := float64(n) / d.total.Seconds()
			rows = append(rows, row{
				target:   fmt.Sprintf("3. deliver %d records, WORKERS=%d, CRM at 50 ms%s", n, w, v.name),
				measured: fmt.Sprintf("%.0f/s of ideal %.0f/s", got, ideal),
				ratio:    got / ideal, bound: ">= 0.90",
				pass: got/ideal >= 0.9,
			})
			ratios[j] = append(ratios[j], got/ideal)
			b.logf("latency-bound WORKERS=%d%s: %.0f/s", w, v.name, got)
		}
	}

	// Integrator memory: flat in the number of records.
	for j, v := range vs {
		small, err := b.deliver(ctx, b.n/10, 8, 0, v.env...)
		if err != nil {
			return nil, err
		}
		big := maxRSSOf(totals[j])
		rows = append(rows, row{
			target:   fmt.Sprintf("5. integrator peak RSS, %d vs %d records%s", b.n, b.n/10, v.name),
			measured: fmt.Sprintf("%s vs %s", mib(big), mib(small.rss)),
			ratio:    float64(big) / float64(small.rss), bound: "<= 1.25",
			pass: float64(big)/float64(small.rss) <= 1.25,
		})
	}

	// What the template keeps of each ratio (rows 2, 4, 3 and 3), and of
	// the integrator's CPU time per record, which other processes move
	// far less than its wall time on a shared machine.
	if len(vs) > 1 {
		cpu := make([]time.Duration, len(vs))
		for j := range vs {
			c := make([]sample, len(prod[j]))
			for i, d := range prod[j] {
				c[i] = sample{elapsed: d.cpu}
			}
			cpu[j] = median(c)
		}
		kept = append(kept, row{
			target:   fmt.Sprintf("integrator CPU for %d records, without vs with BODY_TEMPLATE", b.n),
			measured: fmt.Sprintf("%s vs %s (%.1f vs %.1f µs a record)", cpu[0].Round(1e7), cpu[1].Round(1e7), perRecordMicros(cpu[0], b.n), perRecordMicros(cpu[1], b.n)),
			ratio:    cpu[0].Seconds() / cpu[1].Seconds(), bound: ">= 0.95",
			pass: cpu[0].Seconds()/cpu[1].Seconds() >= 0.95,
		})
		for k, name := range []string{"2", "4", "3 (WORKERS=8)", "3 (WORKERS=64)"} {
			kept = append(kept, row{
				target:   fmt.Sprintf("row %s with BODY_TEMPLATE vs without", name),
				measured: fmt.Sprintf("ratio %.2f vs %.2f", ratios[1][k], ratios[0][k]),
				ratio:    ratios[1][k] / ratios[0][k], bound: ">= 0.95",
				pass: ratios[1][k]/ratios[0][k] >= 0.95,
			})
		}
	}
	return append(rows, kept...), nil
}

// perRecordMicros is d spread over n records, in microseconds.
func perRecordMicros(d time.Duration, n int64) float64 {
	return float64(d.Microseconds()) / float64(n)
}
