package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHuman(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{d: 0, want: "0s"},
		{d: 45 * time.Second, want: "45s"},
		{d: 42*time.Minute + 59*time.Second, want: "42m"},
		{d: 3 * time.Hour, want: "3h"},
		{d: 3*time.Hour + 12*time.Minute, want: "3h12m"},
		{d: 48 * time.Hour, want: "2d"},
		{d: 53 * time.Hour, want: "2d5h"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, human(tt.d))
		})
	}
}

func TestTimePhrases(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{name: "expires", got: expiry(now.Add(42*time.Minute), now), want: "expires in 42m"},
		{name: "expired", got: expiry(now.Add(-3*time.Hour), now), want: "expired 3h ago"},
		{name: "expired now", got: expiry(now, now), want: "expired just now"},
		{name: "expires rounds to the second", got: expiry(now.Add(time.Hour-300*time.Millisecond), now), want: "expires in 1h"},
		{name: "issued", got: issued(now.Add(-5*time.Minute), now), want: "issued 5m ago"},
		{name: "issued now", got: issued(now, now), want: "issued just now"},
		{name: "issued in the future", got: issued(now.Add(2*time.Minute), now), want: "issued in 2m (in the future: check the clocks)"},
		{name: "not yet valid", got: notBefore(now.Add(90*time.Second), now), want: "NOT YET VALID: valid in 1m"},
		{name: "valid since", got: notBefore(now.Add(-time.Minute), now), want: "valid since 1m ago"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got)
		})
	}
}

func TestTokenKindString(t *testing.T) {
	tests := []struct {
		kind tokenKind
		want string
	}{
		{kind: tokenKind{}, want: "API resource token"},
		{kind: tokenKind{organizationToken: true}, want: "organization token"},
		{kind: tokenKind{organizationLevel: true}, want: "organization-level API token"},
		{kind: tokenKind{machine: true}, want: "machine-to-machine API resource token"},
		{kind: tokenKind{organizationToken: true, machine: true}, want: "machine-to-machine organization token"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.kind.String())
		})
	}
}

func TestSafe(t *testing.T) {
	assert.Equal(t, "user-1", safe("user-1"))
	assert.Equal(t, "Zoë", safe("Zoë"))
	assert.Equal(t, `"\x1b[31mred"`, safe("\x1b[31mred"), "terminal escapes are quoted")
	assert.Equal(t, `"abc\u202e"`, safe("abc\u202e"), "bidi controls are quoted")
	assert.Equal(t, strings.Repeat("a", 200)+"…", safe(strings.Repeat("a", 300)))
}

func TestEscapeUnprintable(t *testing.T) {
	in := []byte("{\n  \"a\": \"x\u009by\u202ez😀\"\n}")
	out := escapeUnprintable(in)
	assert.Equal(t, "{\n  \"a\": \"x\\u009by\\u202ez😀\"\n}", string(out))
	var a, b map[string]any
	require.NoError(t, json.Unmarshal(in, &a))
	require.NoError(t, json.Unmarshal(out, &b))
	assert.Equal(t, a, b, "the same JSON value")
}

func TestShellQuote(t *testing.T) {
	assert.Equal(t, "resource=https://api.example.com", shellQuote("resource=https://api.example.com"))
	assert.Equal(t, "'scope=a b'", shellQuote("scope=a b"))
	assert.Equal(t, `'it'\''s'`, shellQuote("it's"))
	assert.Equal(t, "''", shellQuote(""))
}

func TestReadToken(t *testing.T) {
	tests := []struct {
		name    string
		arg     string
		stdin   string
		want    string
		wantErr string
	}{
		{name: "argument", arg: "a.b.c", want: "a.b.c"},
		{name: "Bearer prefix", arg: "Bearer a.b.c", want: "a.b.c"},
		{name: "bearer prefix, any case", arg: "  bEaReR   a.b.c \n", want: "a.b.c"},
		{name: "stdin", arg: "-", stdin: "a.b.c\n", want: "a.b.c"},
		{name: "empty stdin", arg: "-", stdin: " \n", wantErr: "no token on standard input"},
		{name: "empty argument", arg: " ", wantErr: "empty token"},
		{name: "huge stdin", arg: "-", stdin: strings.Repeat("a", maxInput+1), wantErr: "over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readToken(tt.arg, strings.NewReader(tt.stdin))
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestDecodeJWTErrors(t *testing.T) {
	obj := b64(`{"alg":"ES384"}`)
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{name: "opaque", raw: "RgHXvG3vPq0tuoRXm5lE6", want: "opaque access token"},
		{name: "two segments", raw: "a.b", want: "2 segments"},
		{name: "JWE", raw: "a.b.c.d.e", want: "encrypted JWT (JWE)"},
		{name: "header not base64url", raw: "!!!." + obj + ".c2ln", want: "header is not base64url"},
		{name: "payload not JSON", raw: obj + "." + b64("hello") + ".c2ln", want: "payload is not a JSON object"},
		{name: "payload is an array", raw: obj + "." + b64("[1]") + ".c2ln", want: "payload is not a JSON object"},
		{name: "payload is null", raw: obj + "." + b64("null") + ".c2ln", want: "payload is not a JSON object"},
		{name: "trailing data", raw: obj + "." + b64(`{}{}`) + ".c2ln", want: "payload has data after its JSON object"},
		{name: "empty header", raw: "." + obj + ".c2ln", want: "header is empty"},
		{name: "signature not base64url", raw: obj + "." + obj + ".*", want: "signature is not base64url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeJWT(tt.raw)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// FuzzInspect checks that decoding and explaining any input never panics,
// and that what is printed as JSON is the token's own JSON.
func FuzzInspect(f *testing.F) {
	f.Add("a.b.c")
	f.Add(b64(`{"alg":"none"}`) + "." + b64(`{"exp":1e300,"aud":[1,"x"],"scope":[null],"act":"x"}`) + ".")
	f.Add(b64(`{"typ":7,"crit":[]}`) + "." + b64(`{"aud":"urn:logto:organization:","organization_id":"x","iat":-1,"nbf":"soon"}`) + ".c2ln")
	f.Add(b64(`{}`) + "." + b64("{\"sub\":\"\u202e\x7f\",\"scope\":\"\"}") + ".c2ln")
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := decodeJWT(raw)
		if err != nil {
			return
		}
		var out bytes.Buffer
		d.print(&out, time.Unix(1700000000, 0))
		assert.Contains(t, out.String(), banner)
		var claims map[string]any
		assert.NoError(t, json.Unmarshal(d.claimsJSON, &claims), "printed claims are JSON")
	})
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr    string
		public  bool
		wantErr string // "" means allowed
	}{
		{addr: "127.0.0.1:7080"},
		{addr: "localhost:0"},
		{addr: "[::1]:7080"},
		{addr: "127.0.0.2:7080"},
		{addr: "192.168.1.20:7080", wantErr: "not a loopback address"},
		{addr: "192.168.1.20:7080", public: true},
		{addr: "issuer.internal:7080", public: true},
		{addr: "0.0.0.0:7080", public: true, wantErr: "every interface"},
		{addr: ":7080", wantErr: "every interface"},
		{addr: "127.0.0.1", wantErr: "not HOST:PORT"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s public=%v", tt.addr, tt.public), func(t *testing.T) {
			got := checkAddr(tt.addr, tt.public)
			if tt.wantErr == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, got, tt.wantErr)
		})
	}
}
