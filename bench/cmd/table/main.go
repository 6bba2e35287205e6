// Command table turns `go test -bench` output into the Markdown tables of
// RESULTS.md: per algorithm, a row per library and cache mode with the
// median ns/op, B/op and allocs/op (benchstat's center), the ratio to the
// raw signature check and the time added over it; then the middleware
// overhead and the cache's memory per entry, when those benchmarks ran.
//
// Usage: go run ./cmd/table results/bench.txt > table.md
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: table BENCH_OUTPUT")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	res, err := parse(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := write(os.Stdout, res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// results maps a benchmark name (without the -GOMAXPROCS suffix) to its
// samples per unit, and keeps the order names first appeared in.
type results struct {
	order   []string
	samples map[string]map[string][]float64
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// parse reads benchmark lines: "BenchmarkX/a=b-2  N  v1 unit1  v2 unit2 ...".
func parse(r io.Reader) (*results, error) {
	res := &results{samples: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			continue
		}
		name := procsSuffix.ReplaceAllString(fields[0], "")
		units := res.samples[name]
		if units == nil {
			units = map[string][]float64{}
			res.samples[name] = units
			res.order = append(res.order, name)
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q: %w", name, fields[i], err)
			}
			units[fields[i+1]] = append(units[fields[i+1]], v)
		}
	}
	return res, sc.Err()
}

// median returns the median of name's samples in unit, and whether there
// are any.
func (r *results) median(name, unit string) (float64, bool) {
	s := slices.Clone(r.samples[name][unit])
	if len(s) == 0 {
		return 0, false
	}
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

// runs returns how many samples name has.
func (r *results) runs(name string) int { return len(r.samples[name]["ns/op"]) }

var validateName = regexp.MustCompile(`^BenchmarkValidate/lib=([^/]+)/alg=([^/]+)/cache=(hit|miss)$`)

type row struct{ lib, cache, name string }

func write(w io.Writer, r *results) error {
	var algs []string
	rows := map[string][]row{}
	for _, name := range r.order {
		m := validateName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		if _, ok := rows[m[2]]; !ok {
			algs = append(algs, m[2])
		}
		rows[m[2]] = append(rows[m[2]], row{lib: m[1], cache: m[3], name: name})
	}
	p := &printer{w: w}
	if len(algs) > 0 {
		n := r.runs(rows[algs[0]][0].name)
		p.printf("Medians of %d run(s) per row. \"× raw\" and \"added\" compare with the raw signature check (lib=raw) of the same algorithm: the floor every validator pays; a cache hit skips it, so its added time is negative.\n", n)
	}
	for _, alg := range algs {
		p.printf("\n### %s\n\n", alg)
		p.printf("| library | cache | ns/op | × raw | added over raw | B/op | allocs/op |\n")
		p.printf("|---|---|--:|--:|--:|--:|--:|\n")
		floor, hasFloor := r.median("BenchmarkValidate/lib=raw/alg="+alg+"/cache=miss", "ns/op")
		for _, rw := range rows[alg] {
			ns, _ := r.median(rw.name, "ns/op")
			bytes, _ := r.median(rw.name, "B/op")
			allocs, _ := r.median(rw.name, "allocs/op")
			ratio, added := "", ""
			if hasFloor && floor > 0 {
				ratio = fmt.Sprintf("%.3g×", ns/floor)
				added = micros(ns - floor)
				if rw.lib == "raw" {
					added = "—"
				}
			}
			p.printf("| %s | %s | %s | %s | %s | %s | %s |\n", rw.lib, rw.cache, thousands(ns), ratio, added, thousands(bytes), thousands(allocs))
		}
	}

	bare, okBare := r.median("BenchmarkMiddleware/handler=bare", "ns/op")
	req, okReq := r.median("BenchmarkMiddleware/handler=require", "ns/op")
	if okBare && okReq {
		p.printf("\n### Middleware (cache hit)\n\n")
		p.printf("`mw.Require(\"read:documents\")` around a handler, a whole `ServeHTTP` with an `httptest.ResponseRecorder`, against the bare handler.\n\n")
		p.printf("| handler | ns/op | B/op | allocs/op |\n|---|--:|--:|--:|\n")
		m := func(h, unit string) float64 { v, _ := r.median("BenchmarkMiddleware/handler="+h, unit); return v }
		for _, h := range []string{"bare", "require"} {
			p.printf("| %s | %s | %s | %s |\n", h, thousands(m(h, "ns/op")), thousands(m(h, "B/op")), thousands(m(h, "allocs/op")))
		}
		p.printf("| **added** | %s | %s | %s |\n", micros(req-bare), thousands(m("require", "B/op")-m("bare", "B/op")), thousands(m("require", "allocs/op")-m("bare", "allocs/op")))
	}

	if perEntry, ok := r.median("BenchmarkCacheMemory", "B/entry"); ok {
		p.printf("\n### Cache memory\n\n")
		p.printf("authz's verified-token cache full at 100,000 entries: **%.0f bytes per entry** (live heap after GC, tokens not counted).\n", perEntry)
	}
	return p.err
}

// printer is an io.Writer that remembers its first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// micros formats a duration in nanoseconds as signed microseconds.
func micros(ns float64) string {
	us := ns / 1000
	switch {
	case us >= 100 || us <= -100:
		return fmt.Sprintf("%+.0f µs", us)
	case us >= 10 || us <= -10:
		return fmt.Sprintf("%+.1f µs", us)
	default:
		return fmt.Sprintf("%+.2f µs", us)
	}
}

// thousands formats v rounded to an integer, with comma separators; values
// below 10 keep one decimal if they have one (as in 4.5 ns/op).
func thousands(v float64) string {
	if v < 10 && v != float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
