package middleware_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

// benchAPI is the resource indicator the benchmark's tokens are minted for.
const benchAPI = "https://api.example.com"

// okBody is what the protected handler writes.
var okBody = []byte("ok")

// BenchmarkMiddleware measures a whole request through
// mw.Require("read:documents") on a verified-token cache hit
// (handler=require) against the same handler called bare (handler=bare). The
// difference between the two is what the middleware adds: extracting the
// bearer token, the cache lookup and time checks, the claims in the context,
// and the permission check.
//
// Both variants get a fresh httptest.ResponseRecorder per iteration and share
// one request built once: the middleware only reads the request (headers and
// URL) and hands the handler a shallow copy (r.WithContext), so reusing it
// changes nothing from one iteration to the next.
//
// Run: go test -run '^$' -bench BenchmarkMiddleware -benchmem ./middleware
func BenchmarkMiddleware(b *testing.B) {
	iss, err := authztest.NewIssuer()
	if err != nil {
		b.Fatal(err)
	}
	defer iss.Close()
	v, err := authz.New(iss.URL(), []string{benchAPI})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	mw, err := middleware.New(v, middleware.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	tok, err := iss.APIToken(benchAPI, authztest.Scopes("read:documents", "write:documents"))
	if err != nil {
		b.Fatal(err)
	}
	// The token is valid and now cached: every request below is a hit.
	if _, err := v.Validate(context.Background(), tok); err != nil {
		b.Fatal(err)
	}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(okBody)
	})
	req := httptest.NewRequest(http.MethodGet, "/documents", nil)
	req.Header.Set("Authorization", "Bearer "+tok)

	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"handler=bare", handler},
		{"handler=require", mw.Require("read:documents")(handler)},
	} {
		// One request outside the loop: the benchmark must measure success.
		rec := httptest.NewRecorder()
		bc.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.String() != "ok" {
			b.Fatalf("%s: status %d, body %q, WWW-Authenticate %q", bc.name, rec.Code, rec.Body, rec.Header().Get("WWW-Authenticate"))
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				bc.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkDPoP measures a DPoP request (RFC 9449) through
// mw.Require("read:documents") with DPoPAllowed and the in-memory replay
// cache, on a verified-token cache hit, each request with a proof of its
// own made while the timer is stopped (a proof is accepted once):
//
//   - scheme=bearer: an unbound token with the Bearer scheme, the baseline;
//   - scheme=dpop: a bound token with the DPoP scheme and its ES256 proof;
//   - proof-signature: the proof's ES256 signature check alone
//     (crypto/ecdsa through golang-jwt), which no cache can absorb.
//
// What DPoP adds beyond its signature check is scheme=dpop − scheme=bearer
// − proof-signature: parsing the proof and its key, the thumbprint, the
// URL, the replay cache.
//
// Run: go test -run '^$' -bench BenchmarkDPoP -benchmem ./middleware
func BenchmarkDPoP(b *testing.B) {
	iss, err := authztest.NewIssuer()
	if err != nil {
		b.Fatal(err)
	}
	defer iss.Close()
	v, err := authz.New(iss.URL(), []string{benchAPI}, authz.WithDPoP(authz.DPoPConfig{}))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	mw, err := middleware.New(v, middleware.WithDPoP(authz.DPoPAllowed), middleware.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	key, err := authztest.NewDPoPKey("ES256", nil)
	if err != nil {
		b.Fatal(err)
	}
	bound, err := iss.APIToken(benchAPI, authztest.BoundTo(key), authztest.Scopes("read:documents"))
	if err != nil {
		b.Fatal(err)
	}
	unbound, err := iss.APIToken(benchAPI, authztest.Scopes("read:documents"))
	if err != nil {
		b.Fatal(err)
	}
	h := mw.Require("read:documents")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(okBody) }))
	const url = "http://api.example.com/documents"
	request := func(auth, proof string) *http.Request {
		req := httptest.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", auth)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		return req
	}
	proofs := func(n int) []string {
		ps := make([]string, n)
		for i := range ps {
			if ps[i], err = key.Proof(http.MethodGet, url, bound); err != nil {
				b.Fatal(err)
			}
		}
		return ps
	}
	serveOK := func(b *testing.B, req *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	}
	// Both tokens are valid and now cached: every request below is a hit.
	serveOK(b, request("Bearer "+unbound, ""))
	serveOK(b, request("DPoP "+bound, proofs(1)[0]))

	b.Run("scheme=bearer", func(b *testing.B) {
		req := request("Bearer "+unbound, "")
		b.ReportAllocs()
		for b.Loop() {
			serveOK(b, req)
		}
	})
	b.Run("scheme=dpop", func(b *testing.B) {
		// Requests are made in batches, with the timer stopped: a batch
		// per b.N would hold b.N requests live and the GC would scan them.
		const batch = 256
		var reqs []*http.Request
		b.ReportAllocs()
		for b.Loop() {
			if len(reqs) == 0 {
				b.StopTimer()
				for _, p := range proofs(batch) {
					reqs = append(reqs, request("DPoP "+bound, p))
				}
				b.StartTimer()
			}
			serveOK(b, reqs[len(reqs)-1])
			reqs = reqs[:len(reqs)-1]
		}
	})
	b.Run("proof-signature", func(b *testing.B) {
		// Distinct proofs, in batches like scheme=dpop's: the same
		// signature over and over would be checked with every cache and
		// predictor warm.
		type signed struct {
			input string
			sig   []byte
		}
		const batch = 256
		var todo []signed
		pub := key.PublicKey()
		b.ReportAllocs()
		for b.Loop() {
			if len(todo) == 0 {
				b.StopTimer()
				for _, p := range proofs(batch) {
					dot := strings.LastIndexByte(p, '.')
					sig, err := base64.RawURLEncoding.DecodeString(p[dot+1:])
					if err != nil {
						b.Fatal(err)
					}
					todo = append(todo, signed{p[:dot], sig})
				}
				b.StartTimer()
			}
			s := todo[len(todo)-1]
			todo = todo[:len(todo)-1]
			if err := jwt.SigningMethodES256.Verify(s.input, s.sig, pub); err != nil {
				b.Fatal(err)
			}
		}
	})
}
