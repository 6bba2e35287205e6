package authz

import (
	"encoding/json"
	"testing"

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
