package jesus_test

import (
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"
)

// The comparison's report: targets, ratios and the table TestMain prints after the run.

// target is one line of the table: jesus in a scenario against a peer.
type target struct {
	scenario, jesus, peer string
	what                  string  // "rate" (higher is better) or "p50" (lower is better)
	unit                  string  // of the rate
	want                  float64 // ratio jesus ÷ peer to reach (rate: at least; p50: at most)
}

var targets = []target{
	{"call/small/c64", sysJesus, sysNATS, "rate", "calls/s", 1.3},
	{"call/small/c64", sysJesus, sysGRPC, "rate", "calls/s", 2.5},
	{"call/large/c64", sysJesus, sysNATS, "rate", "calls/s", 1.5},
	{"call/large/c64", sysJesus, sysGRPC, "rate", "calls/s", 2},
	{"call/small/c1", sysJesus, sysTCPEcho, "p50", "", 1.1},
	{"stream/small/c1", sysJesus, sysGRPC, "rate", "items/s", 2},
	{"stream/small/c64", sysJesus, sysGRPC, "rate", "items/s", 2},
	{"oneway/small/c64", sysJesus, sysNATS, "rate", "sent/s", 1},
	{"validation/call/small/c64", "on-both-ends", "off", "rate", "calls/s", 0.85},
	{"validation/call/large/c64", "on-both-ends", "off", "rate", "calls/s", 0.85},
	{"validation/stream/small/c64", "on-both-ends", "off", "rate", "items/s", 0.85},
	{"http/small/c1", sysJesusHTTP, sysHTTP, "rate", "calls/s", 1},
	{"http/small/c64", sysJesusHTTP, sysHTTP, "rate", "calls/s", 1},
	{"http/large/c1", sysJesusHTTP, sysHTTP, "rate", "calls/s", 1},
	{"http/large/c64", sysJesusHTTP, sysHTTP, "rate", "calls/s", 1},
}

func figure(r result, t target) string {
	if t.what == "p50" {
		return fmt.Sprintf("p50 %v", r.p50.Round(100*time.Nanosecond))
	}
	switch {
	case r.rate >= 1e6:
		return fmt.Sprintf("%.2fM %s", r.rate/1e6, t.unit)
	case r.rate >= 1e3:
		return fmt.Sprintf("%.1fk %s", r.rate/1e3, t.unit)
	}
	return fmt.Sprintf("%.0f %s", r.rate, t.unit)
}

// printComparison writes the table of targets for which both figures were measured, and
// the one-way counts: a message lost shows here, and misses its target.
func printComparison(w io.Writer) {
	type line struct{ scenario, vs, j, p, ratio, cpu, want, verdict string }
	var lines []line
	var notes []string
	for _, t := range targets {
		j, okJ := lookup(t.scenario, t.jesus)
		p, okP := lookup(t.scenario, t.peer)
		if !okJ || !okP {
			continue
		}
		var ratio float64
		var want string
		met := false
		cpuRatio := "-"
		if t.what != "p50" && j.cpu > 0 && p.cpu > 0 {
			cpuRatio = fmt.Sprintf("%.2f×", float64(p.cpu)/float64(j.cpu))
		}
		if t.what == "p50" {
			ratio = float64(j.p50) / float64(p.p50)
			want, met = fmt.Sprintf("≤%.2g×", t.want), ratio <= t.want
		} else {
			ratio = j.rate / p.rate
			want, met = fmt.Sprintf("≥%.2g×", t.want), ratio >= t.want
		}
		if strings.HasPrefix(t.scenario, "oneway/") {
			for _, x := range []struct {
				name string
				r    result
			}{{t.jesus, j}, {t.peer, p}} {
				note := fmt.Sprintf("%s %s: received %d of %d sent (%d lost, %d send errors), %.1fk received/s",
					t.scenario, x.name, x.r.received, x.r.sent, x.r.sent-x.r.received, x.r.sendErrs, x.r.delivered/1e3)
				notes = append(notes, note)
			}
			// the rate counts only if every message sent arrived
			met = met && j.received == j.sent
		}
		verdict := "missed"
		if met {
			verdict = "met"
		}
		lines = append(lines, line{t.scenario, t.jesus + " vs " + t.peer, figure(j, t), figure(p, t), fmt.Sprintf("%.2f×", ratio), cpuRatio, want, verdict})
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(w, "\njesus against its peers, same process, same run (ratio: jesus ÷ peer; p50: lower is better;")
	fmt.Fprintln(w, "cpu: the peer's CPU time per unit ÷ jesus's, higher is better, steadier than the rate on a busy machine)")
	format := "%-28s %-36s %-18s %-18s %7s %7s %6s  %s\n"
	fmt.Fprintf(w, format, "scenario", "systems", "jesus", "peer", "ratio", "cpu", "target", "")
	for _, l := range lines {
		fmt.Fprintf(w, format, l.scenario, l.vs, l.j, l.p, l.ratio, l.cpu, l.want, l.verdict)
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintln(w, strings.Repeat("-", 128))
}

// cpuTime is the CPU time the process has used so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
