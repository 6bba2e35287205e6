package authztest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/authztest"
)

const resource = "https://api.example.com"

// fixedNow is the clock of tests that need exact times.
var fixedNow = time.Date(2025, time.March, 4, 5, 6, 7, 0, time.UTC)

func fixedClock() time.Time { return fixedNow }

var jtiPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{21}$`)

func newIssuer(t *testing.T, opts ...authztest.Option) *authztest.Issuer {
	t.Helper()
	iss, err := authztest.NewIssuer(opts...)
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	return iss
}

// get performs a GET over real HTTP and returns the response and its body.
func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// keySet is a JWK Set fetched from the issuer.
type keySet struct {
	kids    []string                     // in the order served
	members []map[string]any             // each key's JSON members, as served
	marshal map[string]jwkset.JWKMarshal // by kid
	keys    map[string]jwkset.JWK        // by kid, parsed and validated by jwkset
}

func fetchJWKS(t *testing.T, iss *authztest.Issuer) keySet {
	t.Helper()
	resp, body := get(t, iss.JWKSURL())
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var set jwkset.JWKSMarshal
	require.NoError(t, json.Unmarshal(body, &set))
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(body, &raw))

	ks := keySet{members: raw.Keys, marshal: map[string]jwkset.JWKMarshal{}, keys: map[string]jwkset.JWK{}}
	for _, m := range set.Keys {
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		require.NoError(t, err, "kid %q", m.KID)
		ks.kids = append(ks.kids, m.KID)
		ks.marshal[m.KID] = m
		ks.keys[m.KID] = jwk
	}
	return ks
}

// verify checks the token's signature with the key its "kid" names in the
// JWK Set served over HTTP. Claims are not validated.
func verify(t *testing.T, iss *authztest.Issuer, token, alg string) error {
	t.Helper()
	ks := fetchJWKS(t, iss)
	_, err := jwt.Parse(token, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		jwk, ok := ks.keys[kid]
		if !ok {
			return nil, fmt.Errorf("kid %q not in JWK Set", kid)
		}
		return jwk.Key(), nil
	}, jwt.WithValidMethods([]string{alg}), jwt.WithoutClaimsValidation())
	return err
}

// decoded is a token's header and payload, decoded without verification.
type decoded struct {
	header map[string]any
	claims map[string]any
}

func decode(t *testing.T, token string) decoded {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	var d decoded
	for n, dst := range []*map[string]any{&d.header, &d.claims} {
		seg, err := base64.RawURLEncoding.DecodeString(parts[n])
		require.NoError(t, err)
		dec := json.NewDecoder(bytes.NewReader(seg))
		dec.UseNumber()
		require.NoError(t, dec.Decode(dst))
	}
	return d
}

// seconds returns an integer NumericDate claim, failing if it is absent or
// not an integer.
func seconds(t *testing.T, claims map[string]any, name string) int64 {
	t.Helper()
	n, ok := claims[name].(json.Number)
	require.True(t, ok, "claim %q = %#v, want a number", name, claims[name])
	v, err := n.Int64()
	require.NoError(t, err, "claim %q is not an integer", name)
	return v
}

func TestTokenKinds(t *testing.T) {
	iss := newIssuer(t)
	tests := []struct {
		name         string
		mint         func() (string, error)
		wantAud      string
		wantSub      string
		wantClientID string
		wantOrgID    string // "" means the claim must be absent
	}{
		{
			name:         "API resource token",
			mint:         func() (string, error) { return iss.APIToken(resource) },
			wantAud:      resource,
			wantSub:      "test-user",
			wantClientID: "test-app",
		},
		{
			name:         "organization token",
			mint:         func() (string, error) { return iss.OrganizationToken("org-1") },
			wantAud:      "urn:logto:organization:org-1",
			wantSub:      "test-user",
			wantClientID: "test-app",
		},
		{
			name:         "organization-level API resource token",
			mint:         func() (string, error) { return iss.OrganizationAPIToken(resource, "org-1") },
			wantAud:      resource,
			wantSub:      "test-user",
			wantClientID: "test-app",
			wantOrgID:    "org-1",
		},
		{
			name:         "machine-to-machine token",
			mint:         func() (string, error) { return iss.MachineToken(resource, "m2m-app") },
			wantAud:      resource,
			wantSub:      "m2m-app",
			wantClientID: "m2m-app",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := tt.mint()
			require.NoError(t, err)
			d := decode(t, token)

			assert.ElementsMatch(t, []string{"alg", "typ", "kid"}, slices.Collect(maps.Keys(d.header)))
			assert.Equal(t, "ES384", d.header["alg"])
			assert.Equal(t, "at+jwt", d.header["typ"])
			assert.Equal(t, iss.KeyID(), d.header["kid"])

			wantClaims := []string{"iss", "aud", "sub", "client_id", "iat", "exp", "jti"}
			if tt.wantOrgID != "" {
				wantClaims = append(wantClaims, "organization_id")
				assert.Equal(t, tt.wantOrgID, d.claims["organization_id"])
			}
			assert.ElementsMatch(t, wantClaims, slices.Collect(maps.Keys(d.claims)))
			assert.Equal(t, iss.URL(), d.claims["iss"])
			assert.Equal(t, tt.wantAud, d.claims["aud"], "aud must be a single string")
			assert.Equal(t, tt.wantSub, d.claims["sub"])
			assert.Equal(t, tt.wantClientID, d.claims["client_id"])
			assert.Equal(t, int64(3600), seconds(t, d.claims, "exp")-seconds(t, d.claims, "iat"))
			assert.Regexp(t, jtiPattern, d.claims["jti"])

			assert.NoError(t, verify(t, iss, token, "ES384"))
		})
	}
}

func TestTokenKindsRejectEmptyArguments(t *testing.T) {
	iss := newIssuer(t)
	tests := []struct {
		name string
		mint func() (string, error)
	}{
		{name: "APIToken without resource", mint: func() (string, error) { return iss.APIToken("") }},
		{name: "OrganizationToken without organization", mint: func() (string, error) { return iss.OrganizationToken("") }},
		{name: "OrganizationAPIToken without resource", mint: func() (string, error) { return iss.OrganizationAPIToken("", "org-1") }},
		{name: "OrganizationAPIToken without organization", mint: func() (string, error) { return iss.OrganizationAPIToken(resource, "") }},
		{name: "MachineToken without resource", mint: func() (string, error) { return iss.MachineToken("", "m2m-app") }},
		{name: "MachineToken without client", mint: func() (string, error) { return iss.MachineToken(resource, "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := tt.mint()
			require.Error(t, err)
			assert.Empty(t, token)
			assert.True(t, strings.HasPrefix(err.Error(), "authztest: "), err.Error())
		})
	}
}

func TestAlgorithms(t *testing.T) {
	tests := []struct {
		name       string
		opts       []authztest.Option
		wantAlg    string
		wantKty    string
		wantCrv    string
		wantJWKAlg bool // Logto publishes "alg" for EC keys only
	}{
		{name: "default is ES384", wantAlg: "ES384", wantKty: "EC", wantCrv: "P-384", wantJWKAlg: true},
		{name: "ES256", opts: []authztest.Option{authztest.WithAlgorithm("ES256")}, wantAlg: "ES256", wantKty: "EC", wantCrv: "P-256", wantJWKAlg: true},
		{name: "ES384", opts: []authztest.Option{authztest.WithAlgorithm("ES384")}, wantAlg: "ES384", wantKty: "EC", wantCrv: "P-384", wantJWKAlg: true},
		{name: "ES512", opts: []authztest.Option{authztest.WithAlgorithm("ES512")}, wantAlg: "ES512", wantKty: "EC", wantCrv: "P-521", wantJWKAlg: true},
		{name: "RS256", opts: []authztest.Option{authztest.WithAlgorithm("RS256")}, wantAlg: "RS256", wantKty: "RSA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := newIssuer(t, tt.opts...)
			ks := fetchJWKS(t, iss)
			require.Equal(t, []string{iss.KeyID()}, ks.kids)

			members := ks.members[0]
			assert.Equal(t, tt.wantKty, members["kty"])
			assert.Equal(t, "sig", members["use"])
			assert.Equal(t, iss.KeyID(), members["kid"])
			wantMembers := []string{"kty", "use", "kid"}
			if tt.wantKty == "EC" {
				wantMembers = append(wantMembers, "crv", "x", "y")
				assert.Equal(t, tt.wantCrv, members["crv"])
			} else {
				wantMembers = append(wantMembers, "n", "e")
			}
			if tt.wantJWKAlg {
				wantMembers = append(wantMembers, "alg")
				assert.Equal(t, tt.wantAlg, members["alg"])
			} else {
				assert.NotContains(t, members, "alg")
			}
			assert.ElementsMatch(t, wantMembers, slices.Collect(maps.Keys(members)), "no private key material")

			want, err := authztest.Thumbprint(ks.marshal[iss.KeyID()])
			require.NoError(t, err)
			assert.Equal(t, want, iss.KeyID(), "kid is the RFC 7638 thumbprint")

			token, err := iss.APIToken(resource)
			require.NoError(t, err)
			d := decode(t, token)
			assert.Equal(t, tt.wantAlg, d.header["alg"])
			assert.Equal(t, iss.KeyID(), d.header["kid"])
			assert.NoError(t, verify(t, iss, token, tt.wantAlg))

			resp, body := get(t, iss.URL()+"/.well-known/openid-configuration")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var disc struct {
				Algs []string `json:"id_token_signing_alg_values_supported"`
			}
			require.NoError(t, json.Unmarshal(body, &disc))
			assert.Equal(t, []string{tt.wantAlg}, disc.Algs)
		})
	}
}

func TestNewIssuerRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []authztest.Option
	}{
		{name: "HMAC algorithm", opts: []authztest.Option{authztest.WithAlgorithm("HS256")}},
		{name: "none algorithm", opts: []authztest.Option{authztest.WithAlgorithm("none")}},
		{name: "empty algorithm", opts: []authztest.Option{authztest.WithAlgorithm("")}},
		{name: "PS256, which Logto never uses", opts: []authztest.Option{authztest.WithAlgorithm("PS256")}},
		{name: "EdDSA, which Logto never uses", opts: []authztest.Option{authztest.WithAlgorithm("EdDSA")}},
		{name: "lower-case name", opts: []authztest.Option{authztest.WithAlgorithm("es384")}},
		{name: "nil clock", opts: []authztest.Option{authztest.WithClock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := authztest.NewIssuer(tt.opts...)
			require.Error(t, err)
			assert.Nil(t, iss)
			assert.True(t, strings.HasPrefix(err.Error(), "authztest: "), err.Error())
		})
	}
}

func TestNewIssuerIgnoresNilOption(t *testing.T) {
	iss := newIssuer(t, nil, authztest.WithAlgorithm("ES256"), nil)
	token, err := iss.APIToken(resource, nil)
	require.NoError(t, err)
	assert.Equal(t, "ES256", decode(t, token).header["alg"])
}

func TestTokenOptions(t *testing.T) {
	iss := newIssuer(t, authztest.WithClock(fixedClock))
	now := fixedNow.Unix()
	other := time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)

	tests := []struct {
		name  string
		opts  []authztest.TokenOption
		check func(t *testing.T, d decoded)
	}{
		{
			name: "defaults have no scope, act or nbf",
			check: func(t *testing.T, d decoded) {
				assert.NotContains(t, d.claims, "scope")
				assert.NotContains(t, d.claims, "act")
				assert.NotContains(t, d.claims, "nbf")
				assert.Equal(t, now, seconds(t, d.claims, "iat"))
				assert.Equal(t, now+3600, seconds(t, d.claims, "exp"))
			},
		},
		{
			name:  "Scopes joins with spaces",
			opts:  []authztest.TokenOption{authztest.Scopes("read:docs", "write:docs")},
			check: func(t *testing.T, d decoded) { assert.Equal(t, "read:docs write:docs", d.claims["scope"]) },
		},
		{
			name: "Scopes without arguments gives an empty string",
			opts: []authztest.TokenOption{authztest.Scopes()},
			check: func(t *testing.T, d decoded) {
				require.Contains(t, d.claims, "scope")
				assert.Equal(t, "", d.claims["scope"])
			},
		},
		{
			name:  "Actor sets act.sub",
			opts:  []authztest.TokenOption{authztest.Actor("admin-1")},
			check: func(t *testing.T, d decoded) { assert.Equal(t, map[string]any{"sub": "admin-1"}, d.claims["act"]) },
		},
		{
			name: "Subject and ClientID",
			opts: []authztest.TokenOption{authztest.Subject("user-9"), authztest.ClientID("app-9")},
			check: func(t *testing.T, d decoded) {
				assert.Equal(t, "user-9", d.claims["sub"])
				assert.Equal(t, "app-9", d.claims["client_id"])
			},
		},
		{
			name:  "a later option wins",
			opts:  []authztest.TokenOption{authztest.Subject("first"), authztest.Subject("second")},
			check: func(t *testing.T, d decoded) { assert.Equal(t, "second", d.claims["sub"]) },
		},
		{
			name: "Claim adds a custom claim",
			opts: []authztest.TokenOption{authztest.Claim("roles", []string{"admin"}), authztest.Claim("tenant", map[string]any{"id": "t1"})},
			check: func(t *testing.T, d decoded) {
				assert.Equal(t, []any{"admin"}, d.claims["roles"])
				assert.Equal(t, map[string]any{"id": "t1"}, d.claims["tenant"])
			},
		},
		{
			name:  "Claim sends scope as a JSON array",
			opts:  []authztest.TokenOption{authztest.Claim("scope", []string{"read", "write"})},
			check: func(t *testing.T, d decoded) { assert.Equal(t, []any{"read", "write"}, d.claims["scope"]) },
		},
		{
			name:  "Claim overrides a default claim",
			opts:  []authztest.TokenOption{authztest.Claim("client_id", 42)},
			check: func(t *testing.T, d decoded) { assert.Equal(t, json.Number("42"), d.claims["client_id"]) },
		},
		{
			name: "WithoutClaim removes exp, iss and aud",
			opts: []authztest.TokenOption{authztest.WithoutClaim("exp"), authztest.WithoutClaim("iss"), authztest.WithoutClaim("aud")},
			check: func(t *testing.T, d decoded) {
				assert.NotContains(t, d.claims, "exp")
				assert.NotContains(t, d.claims, "iss")
				assert.NotContains(t, d.claims, "aud")
				assert.Contains(t, d.claims, "iat")
			},
		},
		{
			name: "IssuedAt moves the default exp",
			opts: []authztest.TokenOption{authztest.IssuedAt(other)},
			check: func(t *testing.T, d decoded) {
				assert.Equal(t, other.Unix(), seconds(t, d.claims, "iat"))
				assert.Equal(t, other.Unix()+3600, seconds(t, d.claims, "exp"))
			},
		},
		{
			name: "ExpiresAt",
			opts: []authztest.TokenOption{authztest.ExpiresAt(other)},
			check: func(t *testing.T, d decoded) {
				assert.Equal(t, now, seconds(t, d.claims, "iat"))
				assert.Equal(t, other.Unix(), seconds(t, d.claims, "exp"))
			},
		},
		{
			name: "IssuedAt after ExpiresAt keeps exp",
			opts: []authztest.TokenOption{authztest.ExpiresAt(other), authztest.IssuedAt(fixedNow.Add(-time.Minute))},
			check: func(t *testing.T, d decoded) {
				assert.Equal(t, now-60, seconds(t, d.claims, "iat"))
				assert.Equal(t, other.Unix(), seconds(t, d.claims, "exp"))
			},
		},
		{
			name: "times are whole seconds",
			opts: []authztest.TokenOption{authztest.IssuedAt(fixedNow.Add(1500 * time.Millisecond))},
			check: func(t *testing.T, d decoded) {
				assert.Equal(t, now+1, seconds(t, d.claims, "iat"))
				assert.Equal(t, now+3601, seconds(t, d.claims, "exp"))
			},
		},
		{
			name: "Expired is relative to the issuer's clock",
			opts: []authztest.TokenOption{authztest.Expired()},
			check: func(t *testing.T, d decoded) {
				assert.Equal(t, now-7200, seconds(t, d.claims, "iat"))
				assert.Equal(t, now-3600, seconds(t, d.claims, "exp"))
			},
		},
		{
			name:  "NotBefore",
			opts:  []authztest.TokenOption{authztest.NotBefore(other)},
			check: func(t *testing.T, d decoded) { assert.Equal(t, other.Unix(), seconds(t, d.claims, "nbf")) },
		},
		{
			name: "Audiences gives an array",
			opts: []authztest.TokenOption{authztest.Audiences(resource, "https://other.example.com")},
			check: func(t *testing.T, d decoded) {
				assert.Equal(t, []any{resource, "https://other.example.com"}, d.claims["aud"])
			},
		},
		{
			name:  "Audiences without arguments gives an empty array",
			opts:  []authztest.TokenOption{authztest.Audiences()},
			check: func(t *testing.T, d decoded) { assert.Equal(t, []any{}, d.claims["aud"]) },
		},
		{
			name:  "IssuerClaim",
			opts:  []authztest.TokenOption{authztest.IssuerClaim("https://other.logto.app/oidc")},
			check: func(t *testing.T, d decoded) { assert.Equal(t, "https://other.logto.app/oidc", d.claims["iss"]) },
		},
		{
			name:  "TokenType JWT, like an ID token",
			opts:  []authztest.TokenOption{authztest.TokenType("JWT")},
			check: func(t *testing.T, d decoded) { assert.Equal(t, "JWT", d.header["typ"]) },
		},
		{
			name:  "TokenType empty removes typ",
			opts:  []authztest.TokenOption{authztest.TokenType("")},
			check: func(t *testing.T, d decoded) { assert.NotContains(t, d.header, "typ") },
		},
		{
			name: "Header adds crit and jku",
			opts: []authztest.TokenOption{authztest.Header("crit", []string{"exp"}), authztest.Header("jku", "https://evil.example.com/jwks")},
			check: func(t *testing.T, d decoded) {
				assert.Equal(t, []any{"exp"}, d.header["crit"])
				assert.Equal(t, "https://evil.example.com/jwks", d.header["jku"])
				assert.Equal(t, "at+jwt", d.header["typ"])
			},
		},
		{
			name:  "KeyID sets kid",
			opts:  []authztest.TokenOption{authztest.KeyID("no-such-key")},
			check: func(t *testing.T, d decoded) { assert.Equal(t, "no-such-key", d.header["kid"]) },
		},
		{
			name:  "KeyID empty removes kid",
			opts:  []authztest.TokenOption{authztest.KeyID("")},
			check: func(t *testing.T, d decoded) { assert.NotContains(t, d.header, "kid") },
		},
		{
			name:  "nil option is ignored",
			opts:  []authztest.TokenOption{nil},
			check: func(t *testing.T, d decoded) { assert.Equal(t, "test-user", d.claims["sub"]) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := iss.APIToken(resource, tt.opts...)
			require.NoError(t, err)
			tt.check(t, decode(t, token))
		})
	}
}

func TestTokenOptionErrors(t *testing.T) {
	iss := newIssuer(t)
	tests := []struct {
		name string
		opts []authztest.TokenOption
	}{
		{name: "Header cannot set alg", opts: []authztest.TokenOption{authztest.Header("alg", "none")}},
		{name: "claim not encodable as JSON", opts: []authztest.TokenOption{authztest.Claim("bad", make(chan int))}},
		{name: "header not encodable as JSON", opts: []authztest.TokenOption{authztest.Header("bad", func() {})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := iss.APIToken(resource, tt.opts...)
			require.Error(t, err)
			assert.Empty(t, token)
			assert.True(t, strings.HasPrefix(err.Error(), "authztest: "), err.Error())
		})
	}
}

func TestJTIIsUnique(t *testing.T) {
	iss := newIssuer(t)
	seen := map[any]bool{}
	for range 50 {
		token, err := iss.APIToken(resource)
		require.NoError(t, err)
		jti := decode(t, token).claims["jti"]
		assert.False(t, seen[jti], "jti %v repeated", jti)
		seen[jti] = true
	}
}

func TestExpiredWithRealClock(t *testing.T) {
	iss := newIssuer(t)
	token, err := iss.APIToken(resource, authztest.Expired())
	require.NoError(t, err)
	d := decode(t, token)
	assert.Less(t, seconds(t, d.claims, "exp"), time.Now().Unix())
	assert.Less(t, seconds(t, d.claims, "iat"), seconds(t, d.claims, "exp"))

	_, err = jwt.Parse(token, func(*jwt.Token) (any, error) {
		return fetchJWKS(t, iss).keys[iss.KeyID()].Key(), nil
	}, jwt.WithValidMethods([]string{"ES384"}))
	assert.ErrorIs(t, err, jwt.ErrTokenExpired)
}

func TestWithClock(t *testing.T) {
	var mu sync.Mutex
	now := fixedNow
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	iss := newIssuer(t, authztest.WithClock(clock))

	for _, step := range []time.Duration{0, 90 * time.Minute} {
		mu.Lock()
		now = fixedNow.Add(step)
		mu.Unlock()
		token, err := iss.MachineToken(resource, "m2m-app")
		require.NoError(t, err)
		d := decode(t, token)
		assert.Equal(t, fixedNow.Add(step).Unix(), seconds(t, d.claims, "iat"))
		assert.Equal(t, fixedNow.Add(step+time.Hour).Unix(), seconds(t, d.claims, "exp"))
	}
}

func TestSignedByUnknownKey(t *testing.T) {
	for _, alg := range []string{"ES384", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			iss := newIssuer(t, authztest.WithAlgorithm(alg))
			ks := fetchJWKS(t, iss)

			token, err := iss.APIToken(resource, authztest.SignedByUnknownKey())
			require.NoError(t, err)
			d := decode(t, token)
			kid, ok := d.header["kid"].(string)
			require.True(t, ok, "kid header is a string")
			assert.Regexp(t, `^[A-Za-z0-9_-]{43}$`, kid, "kid is a SHA-256 thumbprint")
			assert.NotContains(t, ks.kids, kid)
			assert.Equal(t, alg, d.header["alg"])
			assert.Error(t, verify(t, iss, token, alg))

			// Naming the published key does not make the signature valid.
			token, err = iss.APIToken(resource, authztest.SignedByUnknownKey(), authztest.KeyID(iss.KeyID()))
			require.NoError(t, err)
			assert.Equal(t, iss.KeyID(), decode(t, token).header["kid"])
			assert.ErrorIs(t, verify(t, iss, token, alg), jwt.ErrTokenSignatureInvalid)
		})
	}
}

func TestKeyIDStillSignsWithCurrentKey(t *testing.T) {
	iss := newIssuer(t)
	token, err := iss.APIToken(resource, authztest.KeyID("no-such-key"))
	require.NoError(t, err)

	current := fetchJWKS(t, iss).keys[iss.KeyID()]
	_, err = jwt.Parse(token, func(*jwt.Token) (any, error) { return current.Key(), nil },
		jwt.WithValidMethods([]string{"ES384"}))
	assert.NoError(t, err)
}

func TestRotation(t *testing.T) {
	iss := newIssuer(t)
	k0 := iss.KeyID()
	require.Equal(t, []string{k0}, fetchJWKS(t, iss).kids)

	// Stage: the next key is published but does not sign.
	k1 := iss.StageNextKey()
	assert.NotEqual(t, k0, k1)
	assert.Equal(t, k1, iss.StageNextKey(), "staging again returns the staged key")
	assert.Equal(t, []string{k0, k1}, fetchJWKS(t, iss).kids, "current, then next")
	assert.Equal(t, k0, iss.KeyID())
	before, err := iss.APIToken(resource)
	require.NoError(t, err)
	assert.Equal(t, k0, decode(t, before).header["kid"])
	assert.NoError(t, verify(t, iss, before, "ES384"))

	// Rotate: the next key signs, the old one stays published.
	assert.Equal(t, k1, iss.RotateKeys())
	assert.Equal(t, k1, iss.KeyID())
	assert.Equal(t, []string{k1, k0}, fetchJWKS(t, iss).kids, "current, then previous")
	after, err := iss.APIToken(resource)
	require.NoError(t, err)
	assert.Equal(t, k1, decode(t, after).header["kid"])
	assert.NoError(t, verify(t, iss, after, "ES384"))
	assert.NoError(t, verify(t, iss, before, "ES384"), "tokens of the previous key still verify")

	// Drop: the previous key is gone.
	iss.DropPreviousKey()
	assert.Equal(t, []string{k1}, fetchJWKS(t, iss).kids)
	assert.Error(t, verify(t, iss, before, "ES384"))
	assert.NoError(t, verify(t, iss, after, "ES384"))
	iss.DropPreviousKey() // nothing left to drop
	assert.Equal(t, []string{k1}, fetchJWKS(t, iss).kids)

	// Rotate with nothing staged: a key is staged and promoted at once.
	k2 := iss.RotateKeys()
	assert.NotContains(t, []string{k0, k1}, k2)
	assert.Equal(t, []string{k2, k1}, fetchJWKS(t, iss).kids)

	// A further rotation drops the older previous key.
	k3 := iss.StageNextKey()
	assert.Equal(t, []string{k2, k3, k1}, fetchJWKS(t, iss).kids, "current, next, previous")
	assert.Equal(t, k3, iss.RotateKeys())
	assert.Equal(t, []string{k3, k2}, fetchJWKS(t, iss).kids)
}

func TestRotationKeepsAlgorithm(t *testing.T) {
	iss := newIssuer(t, authztest.WithAlgorithm("RS256"))
	kid := iss.RotateKeys()
	ks := fetchJWKS(t, iss)
	assert.Equal(t, jwkset.KtyRSA, ks.marshal[kid].KTY)
	token, err := iss.APIToken(resource)
	require.NoError(t, err)
	assert.NoError(t, verify(t, iss, token, "RS256"))
}

func TestURLs(t *testing.T) {
	iss := newIssuer(t)
	assert.Regexp(t, `^http://127\.0\.0\.1:[0-9]+/oidc$`, iss.URL())
	assert.Equal(t, iss.URL()+"/jwks", iss.JWKSURL())
}

func TestDiscovery(t *testing.T) {
	iss := newIssuer(t)
	resp, body := get(t, iss.URL()+"/.well-known/openid-configuration")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, map[string]any{
		"issuer":                                iss.URL(),
		"jwks_uri":                              iss.JWKSURL(),
		"token_endpoint":                        iss.URL() + "/token",
		"response_types_supported":              []any{"code"},
		"subject_types_supported":               []any{"public"},
		"id_token_signing_alg_values_supported": []any{"ES384"},
	}, got)
}

func TestJWKSResponseHeaders(t *testing.T) {
	iss := newIssuer(t)
	resp, _ := get(t, iss.JWKSURL())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "no-cache, max-age=0, must-revalidate", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
}

func TestRoutes(t *testing.T) {
	iss := newIssuer(t)
	tests := []struct {
		name   string
		method string
		url    string
		want   int
	}{
		{name: "POST to JWKS", method: http.MethodPost, url: iss.JWKSURL(), want: http.StatusMethodNotAllowed},
		{name: "DELETE to discovery", method: http.MethodDelete, url: iss.URL() + "/.well-known/openid-configuration", want: http.StatusMethodNotAllowed},
		{name: "HEAD of JWKS", method: http.MethodHead, url: iss.JWKSURL(), want: http.StatusOK},
		{name: "unknown path", method: http.MethodGet, url: iss.URL() + "/nope", want: http.StatusNotFound},
		{name: "JWKS with trailing slash", method: http.MethodGet, url: iss.JWKSURL() + "/", want: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tt.want, resp.StatusCode)
		})
	}
	assert.Equal(t, 0, iss.JWKSRequests(), "only GETs of the JWK Set count")
}

func TestSetUnavailable(t *testing.T) {
	iss := newIssuer(t)
	tests := []struct {
		name string
		url  string
	}{
		{name: "discovery", url: iss.URL() + "/.well-known/openid-configuration"},
		{name: "JWKS", url: iss.JWKSURL()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss.SetUnavailable(true)
			resp, _ := get(t, tt.url)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

			iss.SetUnavailable(false)
			resp, _ = get(t, tt.url)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}

	iss.SetUnavailable(true)
	_, err := iss.APIToken(resource)
	assert.NoError(t, err, "minting works during an outage")
}

func TestJWKSRequests(t *testing.T) {
	iss := newIssuer(t)
	assert.Equal(t, 0, iss.JWKSRequests())

	for range 3 {
		get(t, iss.JWKSURL())
	}
	assert.Equal(t, 3, iss.JWKSRequests())

	get(t, iss.URL()+"/.well-known/openid-configuration")
	assert.Equal(t, 3, iss.JWKSRequests(), "discovery does not count")

	iss.SetUnavailable(true)
	get(t, iss.JWKSURL())
	assert.Equal(t, 4, iss.JWKSRequests(), "requests answered 503 count")
}

func TestClose(t *testing.T) {
	iss, err := authztest.NewIssuer()
	require.NoError(t, err)
	iss.Close()

	_, err = http.Get(iss.JWKSURL())
	assert.Error(t, err)
	_, err = iss.APIToken(resource)
	assert.NoError(t, err, "minting works after Close")
}

// TestConcurrentUse is meant for -race: minting, rotating and serving keys
// at the same time.
func TestConcurrentUse(t *testing.T) {
	iss := newIssuer(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 4 {
		wg.Go(func() {
			for range 20 {
				token, err := iss.APIToken(resource, authztest.Scopes("read"))
				if err != nil {
					errs <- err
					return
				}
				if strings.Count(token, ".") != 2 {
					errs <- errors.New("malformed token")
				}
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			iss.StageNextKey()
			iss.RotateKeys()
			iss.DropPreviousKey()
			_ = iss.KeyID()
		}
	})
	for range 2 {
		wg.Go(func() {
			for range 10 {
				resp, err := http.Get(iss.JWKSURL())
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				iss.SetUnavailable(false)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, 20, iss.JWKSRequests())
}

func TestWithHosts(t *testing.T) {
	iss, err := authztest.NewIssuer(authztest.WithHosts("issuer.test:443", "localhost:8080"))
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	status := func(host string) int {
		req, err := http.NewRequest("GET", iss.JWKSURL(), nil)
		require.NoError(t, err)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, status("issuer.test:443"))
	assert.Equal(t, http.StatusOK, status("LocalHost:8080"))
	assert.Equal(t, http.StatusMisdirectedRequest, status("evil.test"))
	assert.Equal(t, http.StatusMisdirectedRequest, status(strings.TrimPrefix(iss.URL(), "http://")[:len(strings.TrimPrefix(iss.URL(), "http://"))-len("/oidc")]), "only the names given")
}
