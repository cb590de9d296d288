package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

type record struct {
	Server    string  `json:"server"`
	Clients   int     `json:"clients"`
	Calls     int     `json:"calls"`
	Failures  int     `json:"failures"`
	CallsPerS float64 `json:"calls_per_s"`
	P50       float64 `json:"p50_us"`
	P99       float64 `json:"p99_us"`
	IdleRSS   float64 `json:"idle_rss_kb"`
	PeakRSS   float64 `json:"peak_rss_kb"`
}

func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sort.Float64s(values)
	n := len(values)
	if n%2 == 1 {
		return values[n/2]
	}
	return (values[n/2-1] + values[n/2]) / 2
}

// summarize reads the JSON lines run.sh collected and prints medians over rounds and
// the C++/Go ratios as a Markdown table.
func summarize() {
	type key struct {
		server  string
		clients int
	}
	rates, p50s, p99s := map[key][]float64{}, map[key][]float64{}, map[key][]float64{}
	idle, peak := map[string][]float64{}, map[string][]float64{}
	failures := 0
	rounds := map[key]int{}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var r record
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			continue
		}
		if r.IdleRSS > 0 {
			idle[r.Server] = append(idle[r.Server], r.IdleRSS)
			peak[r.Server] = append(peak[r.Server], r.PeakRSS)
			continue
		}
		k := key{r.Server, r.Clients}
		rates[k] = append(rates[k], r.CallsPerS)
		p50s[k] = append(p50s[k], r.P50)
		p99s[k] = append(p99s[k], r.P99)
		failures += r.Failures
		rounds[k]++
	}
	fmt.Println("| clients | server | calls/s | p50 µs | p99 µs | rounds |")
	fmt.Println("|---:|---|---:|---:|---:|---:|")
	for _, clients := range []int{1, 16} {
		for _, server := range []string{"cpp", "go"} {
			k := key{server, clients}
			if rounds[k] == 0 {
				continue
			}
			fmt.Printf("| %d | %s | %.0f | %.1f | %.1f | %d |\n", clients, server,
				median(rates[k]), median(p50s[k]), median(p99s[k]), rounds[k])
		}
	}
	fmt.Println()
	fmt.Println("| clients | throughput C++/Go | p50 C++/Go | p99 C++/Go |")
	fmt.Println("|---:|---:|---:|---:|")
	for _, clients := range []int{1, 16} {
		c, g := key{"cpp", clients}, key{"go", clients}
		if rounds[c] == 0 || rounds[g] == 0 {
			continue
		}
		fmt.Printf("| %d | %.2f | %.2f | %.2f |\n", clients, median(rates[c])/median(rates[g]),
			median(p50s[c])/median(p50s[g]), median(p99s[c])/median(p99s[g]))
	}
	fmt.Println()
	for _, server := range []string{"cpp", "go"} {
		if len(idle[server]) > 0 {
			fmt.Printf("server RSS %s: idle %.0f KiB, peak %.0f KiB (medians)\n", server, median(idle[server]), median(peak[server]))
		}
	}
	if failures > 0 {
		fmt.Printf("FAILED CALLS: %d\n", failures)
	}
}
