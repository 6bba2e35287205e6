package middleware

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// headerReasons are every reason headerToken gives.
var headerReasons = []string{
	"the Authorization header is given more than once",
	"the Authorization header is empty",
	"the Authorization header has the Bearer scheme but no token",
	"the Authorization header must hold exactly one bearer token",
}

// FuzzHeaderToken: whatever the Authorization header, the parser never
// panics, a token it returns is one b64token-shaped word taken from the
// header after a case-insensitive "Bearer", and its errors are fixed
// sentences that cannot hold the header's text.
func FuzzHeaderToken(f *testing.F) {
	for _, s := range []string{
		"Bearer abc.def.ghi", "bearer  x", "Bearer", "Bearer ", "Basic dXNlcjpw", "Bearer a, Bearer b",
		"Bearer\tx", "", " Bearer x ", "BEARER x,y", "Bearer secret-token with spaces",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{"Authorization": {v}}
		tok, err := headerToken(h)
		if err != nil {
			if tok != "" {
				t.Fatalf("headerToken(%q) returned a token and an error", v)
			}
			if !slices.Contains(headerReasons, err.Reason) {
				t.Fatalf("headerToken(%q): unexpected reason %q", v, err.Reason)
			}
			return
		}
		if tok == "" {
			return
		}
		if strings.ContainsAny(string(tok), " \t,") {
			t.Fatalf("headerToken(%q) = %q: more than one word", v, string(tok))
		}
		if !strings.HasSuffix(strings.TrimRight(v, " \t"), string(tok)) {
			t.Fatalf("headerToken(%q) = %q: not the end of the header", v, string(tok))
		}
		if scheme := strings.TrimLeft(v, " \t"); len(scheme) < 7 || !strings.EqualFold(scheme[:7], "Bearer ") {
			t.Fatalf("headerToken(%q) = %q without the Bearer scheme", v, string(tok))
		}
	})
}
