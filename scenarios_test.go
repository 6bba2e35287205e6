package authz_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

// TestLogtoTokenKinds validates each token kind Logto issues (LOGTO-TOKENS.md)
// against validators configured for APIs, organizations, or both.
func TestLogtoTokenKinds(t *testing.T) {
	c := newClock()
	iss, err := authztest.NewIssuer(authztest.WithClock(c.Now))
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	validator := func(audiences ...string) *authz.Validator {
		v, err := authz.New(iss.URL(), audiences, authz.WithClock(c.Now))
		require.NoError(t, err)
		t.Cleanup(v.Close)
		return v
	}
	apiOnly := validator(api)
	anyOrg := validator(authz.AnyOrganization)
	orgA := validator(authz.OrganizationAudience("org-a"))
	both := validator(api, authz.AnyOrganization)

	m := must(t)
	apiToken := m(iss.APIToken(api, authztest.Scopes("read")))
	orgTokenA := m(iss.OrganizationToken("org-a", authztest.Scopes("invite:member")))
	orgTokenB := m(iss.OrganizationToken("org-b"))
	orgAPIToken := m(iss.OrganizationAPIToken(api, "org-a", authztest.Scopes("read")))
	machine := m(iss.MachineToken(api, "m2m-app", authztest.Scopes("sync")))
	machineOrg := m(iss.OrganizationToken("org-a", authztest.Subject("m2m-app"), authztest.ClientID("m2m-app")))
	actor := m(iss.APIToken(api, authztest.Actor("admin-1")))
	contradicting := m(iss.OrganizationToken("org-a", authztest.Claim("organization_id", "org-b")))

	tests := []struct {
		name      string
		validator *authz.Validator
		token     string
		want      error
		org       string
		isOrg     bool
		isMachine bool
	}{
		{name: "API token on an API", validator: apiOnly, token: apiToken},
		{name: "organization token on an API", validator: apiOnly, token: orgTokenA, want: authz.ErrAudience},
		{name: "organization-level API token on an API", validator: apiOnly, token: orgAPIToken, org: "org-a"},
		{name: "machine-to-machine token on an API", validator: apiOnly, token: machine, isMachine: true},
		{name: "impersonation token on an API", validator: apiOnly, token: actor},
		{name: "API token for organizations", validator: anyOrg, token: apiToken, want: authz.ErrAudience},
		{name: "organization-level API token for organizations", validator: anyOrg, token: orgAPIToken, want: authz.ErrAudience},
		{name: "organization token, any organization", validator: anyOrg, token: orgTokenA, org: "org-a", isOrg: true},
		{name: "organization token of another organization, any organization", validator: anyOrg, token: orgTokenB, org: "org-b", isOrg: true},
		{name: "machine organization token", validator: anyOrg, token: machineOrg, org: "org-a", isOrg: true, isMachine: true},
		{name: "organization token for the one organization", validator: orgA, token: orgTokenA, org: "org-a", isOrg: true},
		{name: "organization token for another organization", validator: orgA, token: orgTokenB, want: authz.ErrAudience},
		{name: "both: API token", validator: both, token: apiToken},
		{name: "both: organization token", validator: both, token: orgTokenA, org: "org-a", isOrg: true},
		{name: "organization_id contradicts the audience", validator: anyOrg, token: contradicting, want: authz.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := tt.validator.Validate(context.Background(), tt.token)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.org, claims.OrganizationID)
			assert.Equal(t, tt.isOrg, claims.IsOrganizationToken())
			assert.Equal(t, tt.isMachine, claims.IsMachine())
		})
	}

	claims, err := apiOnly.Validate(context.Background(), actor)
	require.NoError(t, err)
	assert.Equal(t, "admin-1", claims.Actor)
	claims, err = apiOnly.Validate(context.Background(), machine)
	require.NoError(t, err)
	assert.Equal(t, "m2m-app", claims.Subject)
	assert.Equal(t, []string{"sync"}, claims.Scopes)
}

func TestCheckOrganization(t *testing.T) {
	f := newFixture(t, []string{api, authz.AnyOrganization}, nil)
	m := must(t)
	validate := func(tok string) *authz.Claims {
		c, err := f.v.Validate(context.Background(), tok)
		require.NoError(t, err)
		return c
	}
	orgToken := validate(m(f.iss.OrganizationToken("org-a", authztest.Scopes("read"))))
	orgAPI := validate(m(f.iss.OrganizationAPIToken(api, "org-a", authztest.Scopes("read"))))
	global := validate(m(f.iss.APIToken(api, authztest.Scopes("read", "write", "admin"))))

	// The validator accepts both kinds: an organization check must say
	// which it takes, and CheckOrganization, which does not, fails closed
	// with an error that is no refusal of the token (a server bug).
	for _, c := range []*authz.Claims{orgToken, orgAPI, global} {
		err := c.CheckOrganization("org-a", "read")
		var e *authz.Error
		require.Error(t, err)
		assert.False(t, errors.As(err, &e), "%v", err)
		assert.Contains(t, err.Error(), "must say which it takes")
	}
	orgs := authz.Requirement{Token: authz.OrganizationToken, Organization: authz.OrganizationFromRequest}
	apis := authz.Requirement{Token: authz.APIToken, Organization: authz.OrganizationFromRequest}
	with := func(r authz.Requirement, perms ...string) authz.Requirement { r.AllOf = perms; return r }

	assert.NoError(t, with(orgs, "read").Check(orgToken, "org-a"))
	assert.NoError(t, apis.Check(orgAPI, "org-a"))
	assert.ErrorIs(t, orgs.Check(orgToken, "org-b"), authz.ErrOrganization)
	assert.ErrorIs(t, orgs.Check(orgToken, ""), authz.ErrOrganization)
	assert.ErrorIs(t, with(orgs, "write").Check(orgToken, "org-a"), authz.ErrInsufficientScope)
	assert.ErrorIs(t, with(apis, "read").Check(global, "org-a"), authz.ErrOrganization,
		"a token without an organization never passes, whatever its scopes")
	assert.ErrorIs(t, with(apis, "read").Check(orgToken, "org-a"), authz.ErrAudience,
		"an organization token never passes a requirement for API tokens")
	assert.ErrorIs(t, with(orgs, "read").Check(orgAPI, "org-a"), authz.ErrAudience,
		"an API token never passes a requirement for organization tokens")

	// With a validator of one kind, CheckOrganization takes that kind.
	apiOnly := newFixture(t, []string{api}, nil)
	orgAPI, err := apiOnly.v.Validate(context.Background(), m(apiOnly.iss.OrganizationAPIToken(api, "org-a", authztest.Scopes("read"))))
	require.NoError(t, err)
	assert.NoError(t, orgAPI.CheckOrganization("org-a", "read"))
	assert.ErrorIs(t, orgAPI.CheckOrganization("org-b", "read"), authz.ErrOrganization)
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t, []string{api}, nil)
	ctx := context.Background()
	m := must(t)
	oldToken := m(f.iss.APIToken(api))
	_, err := f.v.Validate(ctx, oldToken)
	require.NoError(t, err)

	f.iss.StageNextKey()
	_, err = f.v.Validate(ctx, m(f.iss.APIToken(api)))
	require.NoError(t, err, "staging a next key changes nothing for current tokens")

	f.iss.RotateKeys()
	f.clock.Add(authz.DefaultRefreshCooldown)
	newToken := m(f.iss.APIToken(api))
	_, err = f.v.Validate(ctx, newToken)
	require.NoError(t, err, "the new key is fetched on its unknown kid")
	_, err = f.v.Validate(ctx, oldToken)
	require.NoError(t, err, "the previous key still validates")

	f.iss.DropPreviousKey()
	f.clock.Add(authz.DefaultRefreshCooldown)
	_, err = f.v.Validate(ctx, m(f.iss.APIToken(api, authztest.SignedByUnknownKey())))
	require.ErrorIs(t, err, authz.ErrUnknownKey) // this unknown kid made the validator refetch
	_, err = f.v.Validate(ctx, oldToken)
	assert.ErrorIs(t, err, authz.ErrUnknownKey, "a key removed from the JWKS stops validating after the refresh that removed it")
	_, err = f.v.Validate(ctx, newToken)
	assert.NoError(t, err)
}

func TestRotationToANewKeyFetchesOnUnknownKID(t *testing.T) {
	f := newFixture(t, []string{api}, nil)
	ctx := context.Background()
	m := must(t)
	_, err := f.v.Validate(ctx, m(f.iss.APIToken(api)))
	require.NoError(t, err)
	fetches := f.iss.JWKSRequests()

	f.iss.RotateKeys() // not staged ahead: the validator has never seen the new key
	newToken := m(f.iss.APIToken(api))
	_, err = f.v.Validate(ctx, newToken)
	assert.ErrorIs(t, err, authz.ErrUnknownKey, "inside the cooldown after the first fetch an unknown kid fails at once")
	assert.Equal(t, fetches, f.iss.JWKSRequests())

	f.clock.Add(authz.DefaultRefreshCooldown)
	_, err = f.v.Validate(ctx, newToken)
	assert.NoError(t, err)
	assert.Equal(t, fetches+1, f.iss.JWKSRequests())
}

func TestIssuerDownAtStartThenRecovers(t *testing.T) {
	c := newClock()
	iss, err := authztest.NewIssuer(authztest.WithClock(c.Now))
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	iss.SetUnavailable(true)

	v, err := authz.New(iss.URL(), []string{api}, authz.WithClock(c.Now))
	require.NoError(t, err, "New does not fail because the issuer is down")
	t.Cleanup(v.Close)
	tok := must(t)(iss.APIToken(api))

	_, err = v.Validate(context.Background(), tok)
	assert.ErrorIs(t, err, authz.ErrKeysUnavailable)
	_, err = v.Validate(context.Background(), tok)
	assert.ErrorIs(t, err, authz.ErrKeysUnavailable, "still unavailable inside the cooldown, answered at once")

	iss.SetUnavailable(false)
	c.Add(authz.DefaultRefreshCooldown)
	claims, err := v.Validate(context.Background(), tok)
	require.NoError(t, err, "recovers without a restart")
	assert.Equal(t, "test-user", claims.Subject)
}

func TestUnknownKIDFloodCausesOneFetchPerCooldown(t *testing.T) {
	f := newFixture(t, []string{api}, nil)
	ctx := context.Background()
	_, err := f.v.Validate(ctx, must(t)(f.iss.APIToken(api)))
	require.NoError(t, err)
	start := f.iss.JWKSRequests()

	tokens := make([]string, 50)
	for i := range tokens {
		tokens[i] = must(t)(f.iss.APIToken(api, authztest.KeyID(fmt.Sprintf("unknown-%d", i))))
	}
	flood := func() {
		var wg sync.WaitGroup
		for i := range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.v.Validate(ctx, tokens[i%len(tokens)])
				assert.ErrorIs(t, err, authz.ErrUnknownKey)
			}()
		}
		wg.Wait()
	}
	flood()
	assert.Equal(t, start, f.iss.JWKSRequests(), "no fetch inside the cooldown of the last one")
	f.clock.Add(authz.DefaultRefreshCooldown)
	flood()
	assert.Equal(t, start+1, f.iss.JWKSRequests(), "one fetch per cooldown")
	flood()
	assert.Equal(t, start+1, f.iss.JWKSRequests())
}

func TestTwoIssuersWithSeparateKeySets(t *testing.T) {
	c := newClock()
	tenant, err := authztest.NewIssuer(authztest.WithClock(c.Now))
	require.NoError(t, err)
	t.Cleanup(tenant.Close)
	custom, err := authztest.NewIssuer(authztest.WithClock(c.Now), authztest.WithAlgorithm("RS256"))
	require.NoError(t, err)
	t.Cleanup(custom.Close)

	v, err := authz.New(tenant.URL(), []string{api}, authz.WithIssuer(custom.URL()),
		authz.WithJWKSURL(custom.URL(), custom.JWKSURL()), authz.WithClock(c.Now))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	m := must(t)

	claims, err := v.Validate(context.Background(), m(tenant.APIToken(api)))
	require.NoError(t, err)
	assert.Equal(t, tenant.URL(), claims.Issuer)
	claims, err = v.Validate(context.Background(), m(custom.APIToken(api)))
	require.NoError(t, err)
	assert.Equal(t, custom.URL(), claims.Issuer)

	// Signed with the custom domain's key, claiming the tenant as issuer: the
	// key is looked up in the tenant's set only.
	_, err = v.Validate(context.Background(), m(custom.APIToken(api, authztest.IssuerClaim(tenant.URL()))))
	assert.ErrorIs(t, err, authz.ErrUnknownKey)
}

func TestValidateHonoursContextWhileWaitingForKeys(t *testing.T) {
	c := newClock()
	// A JWKS endpoint that never answers.
	hang := make(chan struct{})
	srv := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	defer close(hang)
	v, err := authz.New(srv.URL+"/oidc", []string{api}, authz.WithJWKSURL(srv.URL+"/oidc", srv.URL+"/oidc/jwks"), authz.WithClock(c.Now))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	iss, err := authztest.NewIssuer(authztest.WithClock(c.Now))
	require.NoError(t, err)
	t.Cleanup(iss.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = v.Validate(ctx, must(t)(iss.APIToken(api, authztest.IssuerClaim(srv.URL+"/oidc"))))
	assert.ErrorIs(t, err, authz.ErrKeysUnavailable)
	assert.Less(t, time.Since(start), 5*time.Second, "Validate returned when its context ended")
}

func TestNewChecksItsInputs(t *testing.T) {
	const iss = "https://tenant.logto.app/oidc"
	tests := []struct {
		name      string
		issuer    string
		audiences []string
		opts      []authz.Option
		wantErr   string // "" means New succeeds
	}{
		{name: "Logto cloud", issuer: iss, audiences: []string{api}},
		{name: "loopback over http", issuer: "http://127.0.0.1:3001/oidc", audiences: []string{api}},
		{name: "localhost over http", issuer: "http://localhost:3001/oidc", audiences: []string{api}},
		{name: "private host over http with InsecureAllowHTTP", issuer: "http://logto:3001/oidc", audiences: []string{api}, opts: []authz.Option{authz.InsecureAllowHTTP()}},
		{name: "private host over http", issuer: "http://logto:3001/oidc", audiences: []string{api}, wantErr: "must use https"},
		{name: "issuer with trailing slash", issuer: iss + "/", audiences: []string{api}, wantErr: "ends with a slash"},
		{name: "issuer not a URL", issuer: "tenant", audiences: []string{api}, wantErr: "not an absolute URL"},
		{name: "no audience", issuer: iss, wantErr: "no audience"},
		{name: "empty audience", issuer: iss, audiences: []string{""}, wantErr: "audience"},
		{name: "organization audience without id", issuer: iss, audiences: []string{authz.OrganizationAudience("")}, wantErr: "invalid organization id"},
		{name: "HS256", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithAlgorithms("HS256")}, wantErr: `"HS256" is not allowed`},
		{name: "none", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithAlgorithms("none")}, wantErr: `"none" is not allowed`},
		{name: "no algorithm", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithAlgorithms()}, wantErr: "at least one"},
		{name: "negative leeway", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithLeeway(-time.Second)}, wantErr: "leeway"},
		{name: "tiny token limit", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithMaxTokenBytes(10)}, wantErr: "below 512"},
		{name: "nil HTTP client", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithHTTPClient(nil)}, wantErr: "WithHTTPClient(nil)"},
		{name: "nil clock", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithClock(nil)}, wantErr: "WithClock(nil)"},
		{name: "nil logger", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithLogger(nil)}, wantErr: "WithLogger(nil)"},
		{name: "nil option", issuer: iss, audiences: []string{api}, opts: []authz.Option{nil}, wantErr: "nil Option"},
		{name: "refresh interval under a second", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithRefreshInterval(time.Millisecond)}, wantErr: "below 1s"},
		{name: "negative cooldown", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithRefreshCooldown(-1)}, wantErr: "negative"},
		{name: "JWKS URL for an unknown issuer", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithJWKSURL("https://other/oidc", "https://other/oidc/jwks")}, wantErr: "not configured"},
		{name: "JWKS URL over http", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithJWKSURL(iss, "http://tenant.logto.app/oidc/jwks")}, wantErr: "must use https"},
		{name: "issuer twice", issuer: iss, audiences: []string{api}, opts: []authz.Option{authz.WithIssuer(iss)}, wantErr: "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := authz.New(tt.issuer, tt.audiences, append(tt.opts, authz.WithHTTPClient(noNetwork))...)
			if tt.wantErr == "" {
				require.NoError(t, err)
				v.Close()
				return
			}
			require.Error(t, err)
			assert.Nil(t, v)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, strings.HasPrefix(err.Error(), "authz: "), err.Error())
		})
	}
}

// noNetwork is an HTTP client that never leaves the machine.
var noNetwork = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("no network in tests")
})}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTokenAndClaimsNeverPrintTheToken(t *testing.T) {
	f := newFixture(t, []string{api}, nil)
	raw := must(t)(f.iss.APIToken(api, authztest.Scopes("read")))
	claims, err := f.v.Validate(context.Background(), raw)
	require.NoError(t, err)
	tok := authz.Token(raw)

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("request", "token", tok, "claims", claims, "value", *claims)
	printed := []string{
		fmt.Sprint(tok), fmt.Sprintf("%v %s %q %+v %#v", tok, tok, tok, tok, tok),
		fmt.Sprint(claims), fmt.Sprintf("%v %+v %#v %s", claims, claims, *claims, *claims),
		buf.String(),
	}
	sig := raw[strings.LastIndexByte(raw, '.')+1:]
	for _, p := range printed {
		assert.NotContains(t, p, sig)
	}
	assert.Contains(t, buf.String(), `"token":"REDACTED"`)
	assert.Contains(t, buf.String(), `"sub":"test-user"`)
	assert.Contains(t, fmt.Sprint(claims), `scope="read"`)
	assert.Equal(t, raw, string(claims.Token()), "string(t) is the way to the real value")
}

func httpServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
