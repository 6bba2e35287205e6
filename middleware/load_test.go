package middleware_test

// Load through the middleware (issue 4, part 5): TestLoad sends a bounded
// stream of requests with a mix of valid, expired and forged tokens over
// loopback HTTP with keep-alive clients, and checks every single answer;
// BenchmarkLoad measures requests per second and latency percentiles of the
// same traffic. Throughput is measured, never asserted.

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

const (
	// loadRequests is the size of TestLoad: about 10 s on 2 cores.
	loadRequests = 200_000
	// loadRequestsSmall is its size under -race (10 to 20 times slower)
	// and with -short.
	loadRequestsSmall = 20_000
	// loadClients is how many goroutines send requests at once, each on
	// its own keep-alive connection.
	loadClients = 64
	// loadHeapGrowth bounds the live heap's growth over TestLoad: with no
	// leak it stays flat (the verified-token cache holds the few valid
	// tokens); a leak of 100 bytes per request would show as 20 MB.
	loadHeapGrowth = 8 << 20
)

// loadRaceEnabled reports whether the test binary was built with -race.
func loadRaceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// loadKind is one kind of request in the mix, with the only right answer.
type loadKind struct {
	name   string
	weight int      // requests of this kind per loadCycle
	tokens []string // cycled through; nil: the request has no token
	// header sets the request's credentials from a token of the pool.
	header func(h http.Header, tok string)
	status int
	// code is the RFC 6750 error code the challenge must carry; "" for a
	// 200 and for a request without a token (whose challenge has none).
	code string
}

// loadRig is an issuer, a validator, a protected API on a loopback server,
// a keep-alive client, and the request mix.
type loadRig struct {
	srv    *httptest.Server
	client *http.Client
	kinds  []loadKind
	cycle  []int // request i has kind cycle[i%len(cycle)]
}

func bearerHeader(h http.Header, tok string) { h.Set("Authorization", "Bearer "+tok) }

// newLoadRig builds the rig with an issuer signing with alg.
func newLoadRig(tb testing.TB, alg string, opts ...authz.Option) *loadRig {
	tb.Helper()
	c := newClock() // fixed: no token expires, no cooldown ends, during the run
	iss, err := authztest.NewIssuer(authztest.WithClock(c.Now), authztest.WithAlgorithm(alg))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(iss.Close)
	quiet := slog.New(slog.DiscardHandler)
	v, err := authz.New(iss.URL(), []string{api}, append([]authz.Option{authz.WithClock(c.Now), authz.WithLogger(quiet)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	mw, err := middleware.New(v, middleware.WithLogger(quiet))
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /documents", mw.Require("read:documents")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})))

	mint := func(n int, opts ...authztest.TokenOption) []string {
		toks := make([]string, n)
		for i := range toks {
			if toks[i], err = iss.APIToken(api, opts...); err != nil {
				tb.Fatal(err)
			}
		}
		return toks
	}
	read := authztest.Scopes("read:documents")
	valid := mint(64, read)
	// Keys load before the run: every 5xx in it is then a wrong answer.
	if _, err := v.Validate(context.Background(), valid[0]); err != nil {
		tb.Fatal(err)
	}
	tampered := make([]string, 16)
	for i, tok := range mint(16, authztest.Scopes("read:profile")) {
		p := strings.Split(tok, ".")
		claims, err := base64.RawURLEncoding.DecodeString(p[1])
		if err != nil {
			tb.Fatal(err)
		}
		claims = []byte(strings.Replace(string(claims), `"read:profile"`, `"read:documents"`, 1))
		tampered[i] = p[0] + "." + base64.RawURLEncoding.EncodeToString(claims) + "." + p[2]
	}
	none := make([]string, 16)
	for i, tok := range valid[:16] {
		p := strings.Split(tok, ".")
		head := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"alg":"none","typ":"at+jwt","kid":%q}`, iss.KeyID()))
		none[i] = head + "." + p[1] + "."
	}
	kinds := []loadKind{
		{name: "valid", weight: 10, tokens: valid, status: http.StatusOK},
		{name: "valid, lacks the permission", weight: 2, tokens: mint(16, authztest.Scopes("read:profile")), status: http.StatusForbidden, code: "insufficient_scope"},
		{name: "expired", weight: 2, tokens: mint(16, read, authztest.Expired())},
		{name: forgedKind, weight: 2, tokens: mint(16, read, authztest.SignedByUnknownKey(), authztest.KeyID(iss.KeyID()))},
		{name: "signed by an unknown key", weight: 1, tokens: mint(16, read, authztest.SignedByUnknownKey())},
		{name: "claims changed after signing", weight: 1, tokens: tampered},
		{name: "alg none", weight: 1, tokens: none},
		{name: "wrong audience", weight: 1, tokens: func() []string {
			toks := make([]string, 16)
			for i := range toks {
				if toks[i], err = iss.APIToken("https://other.example.com", read); err != nil {
					tb.Fatal(err)
				}
			}
			return toks
		}()},
		{name: "ID token (typ JWT)", weight: 1, tokens: mint(16, read, authztest.TokenType("JWT"))},
		{name: "no token", weight: 1, status: http.StatusUnauthorized},
		{name: "two Authorization headers", weight: 1, tokens: valid[:8], status: http.StatusBadRequest, code: "invalid_request",
			header: func(h http.Header, tok string) {
				h.Add("Authorization", "Bearer "+tok)
				h.Add("Authorization", "Bearer "+tok)
			}},
	}
	r := &loadRig{kinds: kinds}
	for k := range r.kinds {
		kind := &r.kinds[k]
		if kind.status == 0 { // a token defect: 401 invalid_token
			kind.status, kind.code = http.StatusUnauthorized, "invalid_token"
		}
		if kind.header == nil && kind.tokens != nil {
			kind.header = bearerHeader
		}
		for range kind.weight {
			r.cycle = append(r.cycle, k)
		}
	}

	r.srv = httptest.NewServer(mux)
	tb.Cleanup(r.srv.Close)
	transport := &http.Transport{
		MaxIdleConns:        2 * loadClients,
		MaxIdleConnsPerHost: 2 * loadClients, // the default, 2, would open and close a connection per request
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	tb.Cleanup(transport.CloseIdleConnections)
	r.client = &http.Client{Transport: transport}
	return r
}

// do sends request i of the mix and reports what was wrong with the answer,
// or "".
func (r *loadRig) do(i int) (wrong string, status int) {
	kind := &r.kinds[r.cycle[i%len(r.cycle)]]
	req, err := http.NewRequest(http.MethodGet, r.srv.URL+"/documents", nil)
	if err != nil {
		return err.Error(), 0
	}
	if kind.tokens != nil {
		kind.header(req.Header, kind.tokens[(i/len(r.cycle))%len(kind.tokens)])
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return kind.name + ": " + err.Error(), 0
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	switch {
	case err != nil:
		return kind.name + ": reading the body: " + err.Error(), resp.StatusCode
	case resp.StatusCode != kind.status:
		return fmt.Sprintf("%s: status %d, want %d (%s)", kind.name, resp.StatusCode, kind.status, body), resp.StatusCode
	case kind.status == http.StatusOK && string(body) != "ok":
		return fmt.Sprintf("%s: body %q", kind.name, body), resp.StatusCode
	case kind.status == http.StatusOK:
		return "", resp.StatusCode
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	switch {
	case !strings.HasPrefix(challenge, "Bearer"):
		return fmt.Sprintf("%s: challenge %q, want a Bearer challenge", kind.name, challenge), resp.StatusCode
	case kind.code == "" && strings.Contains(challenge, "error="):
		return fmt.Sprintf("%s: challenge %q, want no error code", kind.name, challenge), resp.StatusCode
	case kind.code != "" && !strings.Contains(challenge, `error="`+kind.code+`"`):
		return fmt.Sprintf("%s: challenge %q, want error=%q", kind.name, challenge, kind.code), resp.StatusCode
	}
	return "", resp.StatusCode
}

// loadResult is what a run of the mix found.
type loadResult struct {
	wrong     int64       // answers that were not the right one
	serverErr int64       // answers with a 5xx status
	samples   []string    // the first few wrong answers
	perStatus map[int]int // answers by status
}

// run sends requests first, first+1, ..., first+n-1 of the mix from
// loadClients goroutines at once.
func (r *loadRig) run(first, n int) loadResult {
	var (
		next      atomic.Int64
		wrong     atomic.Int64
		serverErr atomic.Int64
		mu        sync.Mutex
		wg        sync.WaitGroup
	)
	res := loadResult{perStatus: map[int]int{}}
	for range loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts := map[int]int{}
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					break
				}
				w, status := r.do(first + i)
				counts[status]++
				if status >= 500 {
					serverErr.Add(1)
				}
				if w != "" && wrong.Add(1) <= 5 {
					mu.Lock()
					res.samples = append(res.samples, fmt.Sprintf("request %d: %s", first+i, w))
					mu.Unlock()
				}
			}
			mu.Lock()
			for s, c := range counts {
				res.perStatus[s] += c
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.wrong, res.serverErr = wrong.Load(), serverErr.Load()
	return res
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC() // the second cycle frees what the first one's finalizers released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestLoad sends loadRequests requests (loadRequestsSmall under -race or
// -short) from loadClients goroutines over keep-alive connections to one
// route behind mw.Require, with the mix of newLoadRig: valid tokens, tokens
// without the permission, expired, forged, tampered, alg none, wrong
// audience, ID tokens, no token, two tokens. It asserts that every answer
// is the right one (status, and the challenge's error code), that no answer
// is a 5xx while the keys are loaded, and that the live heap does not grow
// by more than loadHeapGrowth over the run. It measures no time; see
// BenchmarkLoad.
func TestLoad(t *testing.T) {
	n := loadRequests
	if loadRaceEnabled() || testing.Short() {
		n = loadRequestsSmall
	}
	// ES256: a P-256 signature check costs a seventh of a P-384 one (Logto's
	// default, ES384), and far less under -race, so the run exercises the
	// HTTP and middleware path rather than P-384 arithmetic. Decisions do
	// not depend on the algorithm; BenchmarkLoad measures both.
	r := newLoadRig(t, "ES256")
	// Warm up: open the connections, fill the cache with the valid tokens.
	warm := 8 * len(r.cycle) * loadClients
	if res := r.run(0, warm); res.wrong != 0 {
		t.Fatalf("warm-up: %d wrong answers: %s", res.wrong, strings.Join(res.samples, "; "))
	}
	before := heapAlloc()
	res := r.run(warm, n)
	after := heapAlloc()

	for _, s := range res.samples {
		t.Error(s)
	}
	if res.wrong != 0 {
		t.Errorf("%d of %d answers were wrong", res.wrong, n)
	}
	if res.serverErr != 0 {
		t.Errorf("%d answers were 5xx while the keys were loaded", res.serverErr)
	}
	growth := int64(after) - int64(before)
	if growth > loadHeapGrowth {
		t.Errorf("live heap grew by %d bytes over %d requests (%.0f bytes per request), bound %d", growth, n, float64(growth)/float64(n), loadHeapGrowth)
	}
	statuses := make([]int, 0, len(res.perStatus))
	for s := range res.perStatus {
		statuses = append(statuses, s)
	}
	slices.Sort(statuses)
	var summary []string
	for _, s := range statuses {
		summary = append(summary, fmt.Sprintf("%d×%d", res.perStatus[s], s))
	}
	t.Logf("%d requests from %d clients: %s; live heap %+d bytes", n, loadClients, strings.Join(summary, ", "), growth)
}

// BenchmarkLoad measures requests through the middleware over loopback
// HTTP from 64 concurrent keep-alive clients (b.SetParallelism), and reports
// req/s and the p50 and p99 latency in microseconds:
//
//	go test -run '^$' -bench BenchmarkLoad -benchtime 100000x ./middleware
//
// mix=valid sends only valid, cached tokens (the steady state of a busy
// API); mix=attack sends TestLoad's mix, half of which is refused (expired
// and forged tokens cost a signature check each time: failures are never
// cached). Every answer is checked; a wrong one fails the benchmark.
//
// mix=forged sends only forged tokens that name the issuer's real kid (a
// valid signature by another key): the flood no cache absorbs, each one a
// signature check. The ES384 attack and forged mixes are run again with
// crypto=stdlib (authz.WithStandardLibraryCrypto), the baseline of the
// prepared verifiers.
func BenchmarkLoad(b *testing.B) {
	for _, alg := range []string{"ES384", "ES256"} {
		r := newLoadRig(b, alg)
		benchmarkLoad(b, "alg="+alg+"/mix=valid", r.only("valid"))
		benchmarkLoad(b, "alg="+alg+"/mix=attack", r)
		benchmarkLoad(b, "alg="+alg+"/mix=forged", r.only(forgedKind))
	}
	r := newLoadRig(b, "ES384", authz.WithStandardLibraryCrypto())
	benchmarkLoad(b, "alg=ES384/mix=attack/crypto=stdlib", r)
	benchmarkLoad(b, "alg=ES384/mix=forged/crypto=stdlib", r.only(forgedKind))
}

// forgedKind names the kind of the mix whose tokens are signed by another
// key under the issuer's kid.
const forgedKind = "forged: signed by another key under the issuer's kid"

// only returns the rig sending only the requests of the named kind.
func (r *loadRig) only(name string) *loadRig {
	for k := range r.kinds {
		if r.kinds[k].name == name {
			return &loadRig{srv: r.srv, client: r.client, kinds: r.kinds[k : k+1], cycle: []int{0}}
		}
	}
	panic("no kind " + name)
}

func benchmarkLoad(b *testing.B, name string, rig *loadRig) {
	b.Run(name, func(b *testing.B) {
		b.SetParallelism(max(1, loadClients/runtime.GOMAXPROCS(0)))
		var (
			next      atomic.Int64
			mu        sync.Mutex
			latencies []time.Duration
		)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				t0 := time.Now()
				wrong, _ := rig.do(int(next.Add(1)))
				mine = append(mine, time.Since(t0))
				if wrong != "" {
					b.Error(wrong)
					return
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
		elapsed := time.Since(start)
		if len(latencies) == 0 {
			return
		}
		slices.Sort(latencies)
		pct := func(p float64) float64 {
			return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds())
		}
		b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "req/s")
		b.ReportMetric(pct(0.50), "p50-µs")
		b.ReportMetric(pct(0.99), "p99-µs")
	})
}
