package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

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
