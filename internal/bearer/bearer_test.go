package bearer_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/internal/bearer"
)

const field = "the Authorization header"

// reasons are every reason Parse gives for field.
var reasons = []string{
	field + " is given more than once",
	field + " is empty",
	field + " has the Bearer scheme but no token",
	field + " must hold exactly one bearer token",
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vals   []string
		token  string
		reason string
	}{
		{name: "no value", vals: nil},
		{name: "one token", vals: []string{"Bearer abc.def.ghi"}, token: "abc.def.ghi"},
		{name: "scheme in any case", vals: []string{"bEaReR abc"}, token: "abc"},
		{name: "several spaces", vals: []string{"Bearer    abc"}, token: "abc"},
		{name: "surrounding whitespace", vals: []string{" \tBearer abc \t"}, token: "abc"},
		{name: "another scheme", vals: []string{"Basic dXNlcjpwYXNz"}},
		{name: "DPoP scheme", vals: []string{"DPoP abc"}},
		{name: "twice", vals: []string{"Bearer a", "Bearer b"}, reason: reasons[0]},
		{name: "empty", vals: []string{" "}, reason: reasons[1]},
		{name: "scheme only", vals: []string{"Bearer"}, reason: reasons[2]},
		{name: "scheme and spaces", vals: []string{"Bearer   "}, reason: reasons[2]},
		{name: "two credentials", vals: []string{"Bearer a, Bearer b"}, reason: reasons[3]},
		{name: "two words", vals: []string{"Bearer a b"}, reason: reasons[3]},
		{name: "tab inside", vals: []string{"Bearer a\tb"}, reason: reasons[3]},
		{name: "tab separator", vals: []string{"Bearer\tabc"}, reason: reasons[3]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := bearer.Parse(tc.vals, field)
			if tc.reason != "" {
				require.NotNil(t, err)
				assert.Equal(t, tc.reason, err.Reason)
				assert.Equal(t, tc.reason, err.Error())
				assert.Empty(t, tok)
				return
			}
			assert.Nil(t, err)
			assert.Equal(t, tc.token, tok)
		})
	}
}

// FuzzParse: whatever the credentials, Parse never panics, a token it
// returns is one word taken from the end of the value after a
// case-insensitive "Bearer ", and its errors are fixed sentences that
// cannot hold the value's text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Bearer abc.def.ghi", "bearer  x", "Bearer", "Bearer ", "Basic dXNlcjpw", "Bearer a, Bearer b",
		"Bearer\tx", "", " Bearer x ", "BEARER x,y", "Bearer secret-token with spaces",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := bearer.Parse([]string{v}, field)
		if err != nil {
			if tok != "" {
				t.Fatalf("Parse(%q) returned a token and an error", v)
			}
			if !slices.Contains(reasons, err.Reason) {
				t.Fatalf("Parse(%q): unexpected reason %q", v, err.Reason)
			}
			return
		}
		if tok == "" {
			return
		}
		if strings.ContainsAny(tok, " \t,") {
			t.Fatalf("Parse(%q) = %q: more than one word", v, tok)
		}
		if !strings.HasSuffix(strings.TrimRight(v, " \t"), tok) {
			t.Fatalf("Parse(%q) = %q: not the end of the value", v, tok)
		}
		if scheme := strings.TrimLeft(v, " \t"); len(scheme) < 7 || !strings.EqualFold(scheme[:7], "Bearer ") {
			t.Fatalf("Parse(%q) = %q without the Bearer scheme", v, tok)
		}
	})
}

func TestParseScheme(t *testing.T) {
	for _, tc := range []struct {
		name, value   string
		schemes       []string
		scheme, token string
		reason        string
	}{
		{name: "DPoP", value: "DPoP abc", schemes: []string{bearer.Bearer, bearer.DPoP}, scheme: bearer.DPoP, token: "abc"},
		{name: "DPoP in any case", value: "dpop abc", schemes: []string{bearer.Bearer, bearer.DPoP}, scheme: bearer.DPoP, token: "abc"},
		{name: "Bearer among both", value: "bearer abc", schemes: []string{bearer.Bearer, bearer.DPoP}, scheme: bearer.Bearer, token: "abc"},
		{name: "DPoP not accepted", value: "DPoP abc", schemes: []string{bearer.Bearer}},
		{name: "DPoP without token", value: "DPoP", schemes: []string{bearer.DPoP}, reason: field + " has the DPoP scheme but no token"},
		{name: "two DPoP tokens", value: "DPoP a b", schemes: []string{bearer.DPoP}, reason: field + " must hold exactly one DPoP token"},
		{name: "Basic", value: "Basic dXNlcg==", schemes: []string{bearer.Bearer, bearer.DPoP}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scheme, tok, err := bearer.ParseScheme([]string{tc.value}, field, tc.schemes...)
			if tc.reason != "" {
				require.NotNil(t, err)
				assert.Equal(t, tc.reason, err.Reason)
				return
			}
			require.Nil(t, err)
			assert.Equal(t, tc.scheme, scheme)
			assert.Equal(t, tc.token, tok)
		})
	}
}
