package authz

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEachMember checks the one-pass walk over the top-level members of a
// claims object against encoding/json's reading of the same object.
func TestEachMember(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{name: "flat", json: `{"iss":"a","exp":1,"x":null,"y":true}`},
		{name: "whitespace everywhere", json: " {\n\t\"iss\" :\r\n \"a\" ,\n \"exp\": 1.5e3 ,\"z\" : false } "},
		{name: "nested values", json: `{"a":{"b":[1,{"c":"}"}],"d":"]"},"iss":"x","e":[[],[[]]],"f":{}}`},
		{name: "strings with structure and escapes", json: `{"s":"a,b}c]d\"e\\","iss":"q\"}","t":"\u0022"}`},
		{name: "escaped name", json: `{"\u0069ss":"a","sc\u006fpe":"read"}`},
		{name: "empty object", json: `{}`},
		{name: "numbers at the end", json: `{"a":-1,"b":0.5,"c":1e-7}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want map[string]json.RawMessage
			require.NoError(t, json.Unmarshal([]byte(tt.json), &want))
			got := map[string]json.RawMessage{}
			err := eachMember([]byte(tt.json), "claims", func(name, value []byte) *Error {
				got[string(name)] = append(json.RawMessage(nil), value...)
				return nil
			})
			require.Nil(t, err)
			require.Len(t, got, len(want))
			for name, w := range want {
				var a, b any
				require.NoError(t, json.Unmarshal(w, &a), name)
				require.NoError(t, json.Unmarshal(got[name], &b), "%s: %s", name, got[name])
				assert.Equal(t, a, b, name)
			}
		})
	}
}

func TestEachMemberNeverPanics(t *testing.T) {
	for _, in := range []string{"", "{", `{"a`, `{"a":`, `{"a":"b`, `{"a":[1,2`, `{"a"}`, `{:1}`, `[1]`, `"s"`, `{"a":1,}`} {
		assert.NotPanics(t, func() {
			_ = eachMember([]byte(in), "claims", func(_, _ []byte) *Error { return nil })
		}, in)
	}
}

func TestWireClaimsExactNames(t *testing.T) {
	var w wireClaims
	err := json.Unmarshal([]byte(`{"Scope":"admin","scope":"read","ISS":"evil","iss":"good","exp":10,"EXP":99}`), &w)
	require.NoError(t, err)
	assert.Equal(t, scopeList{"read"}, w.Scope)
	assert.Equal(t, "good", w.Iss)
	assert.Equal(t, int64(10), w.Exp.t.Unix())

	err = json.Unmarshal([]byte(`{"iss":"a","iss":"b"}`), &wireClaims{})
	assert.ErrorIs(t, err, ErrMalformed, "a claim read here may appear once")
	err = json.Unmarshal([]byte(`{"iss":7}`), &wireClaims{})
	assert.ErrorIs(t, err, ErrMalformed)
}

// FuzzHeader: whatever the header segment, parseHeader never panics; a
// header it accepts is valid UTF-8 JSON, an object whose member names are
// unique, and its "alg", "kid" and "typ" are what encoding/json reads from
// the same bytes.
func FuzzHeader(f *testing.F) {
	for _, s := range []string{
		`{"alg":"ES384","kid":"k","typ":"at+jwt"}`, `{"alg":"ES384","alg":"none"}`, `{"alg":"ES384","\u0061lg":"none"}`,
		`{"alg":"ES384","typ":"at+jwt\xff"}`, `{"alg":"ES\u0033384","crit":["b64"]}`, `null`, `[]`, `{"alg":7}`,
		`{"alg":"ES384","typ":null,"kid":1}`, "\ufeff{\"alg\":\"ES384\"}", `{"alg":"ES384","x":{"alg":"none"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := parseHeader(base64.RawURLEncoding.EncodeToString(raw))
		if err != nil {
			if err.Kind == nil || err.Reason == "" {
				t.Fatalf("parseHeader(%q): an error without kind or reason", raw)
			}
			return
		}
		if !utf8.Valid(raw) {
			t.Fatalf("parseHeader(%q) accepted invalid UTF-8", raw)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("parseHeader(%q) accepted a header that is not an object", raw)
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("parseHeader(%q) accepted invalid JSON: %v", raw, err)
			}
			name := tok.(string)
			if seen[name] {
				t.Fatalf("parseHeader(%q) accepted the member %q twice", raw, name)
			}
			seen[name] = true
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatalf("parseHeader(%q) accepted invalid JSON: %v", raw, err)
			}
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("parseHeader(%q) accepted what encoding/json refuses: %v", raw, err)
		}
		if m["alg"] != h.alg {
			t.Fatalf("parseHeader(%q): alg %q, encoding/json reads %v", raw, h.alg, m["alg"])
		}
		if kid, ok := m["kid"].(string); ok != h.hasKID || kid != h.kid {
			t.Fatalf("parseHeader(%q): kid %q (%v), encoding/json reads %v", raw, h.kid, h.hasKID, m["kid"])
		}
		if typ, ok := m["typ"].(string); ok != h.typString || typ != h.typ {
			t.Fatalf("parseHeader(%q): typ %q (%v), encoding/json reads %v", raw, h.typ, h.typString, m["typ"])
		}
		if _, ok := m["crit"]; ok != h.crit {
			t.Fatalf("parseHeader(%q): crit %v, encoding/json reads %v", raw, h.crit, ok)
		}
	})
}
