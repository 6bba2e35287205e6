package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	auth0jwks "github.com/auth0/go-jwt-middleware/v3/jwks"
	auth0 "github.com/auth0/go-jwt-middleware/v3/validator"
	"github.com/coreos/go-oidc/v3/oidc"
	golangjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

// Audience is the API resource indicator every token is minted for.
const Audience = "https://api.example.com"

// Permission is the scope every peer requires, as an RBAC-protected route
// would: each one decodes "scope" the way its users do and checks it.
const Permission = "read:documents"

// Leeway is the clock skew allowed on time claims, where a library lets it be
// set (authz's default).
const Leeway = 30 * time.Second

// errMissingPermission is returned for a valid token without [Permission].
var errMissingPermission = errors.New("bench: token lacks " + Permission)

// Target is what a peer validates against.
type Target struct {
	// Issuer serves discovery and the JWK Set, and mints the tokens.
	Issuer *authztest.Issuer
	// Alg is the issuer's signing algorithm ("ES384", "ES256", "RS256").
	Alg string
	// TinyCache sizes a verified-token cache, for peers that have one, so
	// small (16 entries) that a pool of a few hundred distinct tokens never
	// hits it: every validation is a full verification.
	TinyCache bool
}

// Validator is one configured library.
type Validator struct {
	// Validate validates token, checks that it grants [Permission], and
	// returns its "sub" ("" for the raw floor, which parses nothing). It is
	// safe for concurrent use.
	Validate func(ctx context.Context, token string) (subject string, err error)
	// Close releases the library's background refresh, if any.
	Close func()
}

// Peer is one library in the comparison.
type Peer struct {
	// Name is the lib=<name> of the benchmark.
	Name string
	// Cache reports whether the library has a verified-token cache, which
	// makes a cache=hit benchmark meaningful.
	Cache bool
	// Floor marks the raw signature check, which validates no claim.
	Floor bool
	// New configures the library against t. Its JWK Set is fetched once
	// before New returns or on the first validation.
	New func(t Target) (*Validator, error)
}

// Peers are the libraries compared, the floor first.
var Peers = []Peer{
	{Name: "raw", Floor: true, New: newRaw},
	{Name: "authz", Cache: true, New: newAuthz},
	{Name: "authz-stdlib", Cache: true, New: newAuthzStdlib},
	{Name: "golangjwt-keyfunc", New: newGolangJWT},
	{Name: "auth0", New: newAuth0},
	{Name: "jwx", New: newJWX},
	{Name: "oidc", New: newOIDC},
}

// hasScope reports whether the space-separated scope contains want, without
// allocating.
func hasScope(scope, want string) bool {
	for scope != "" {
		var s string
		s, scope, _ = strings.Cut(scope, " ")
		if s == want {
			return true
		}
	}
	return false
}

// newAuthz is this library with its defaults (10,000-entry cache, 10 min
// TTL); TinyCache makes it 16 entries.
// newAuthzStdlib is authz with authz.WithStandardLibraryCrypto: every
// signature through golang-jwt and the standard library.
func newAuthzStdlib(t Target) (*Validator, error) {
	return newAuthzWith(t, authz.WithStandardLibraryCrypto())
}

func newAuthz(t Target) (*Validator, error) { return newAuthzWith(t) }

func newAuthzWith(t Target, extra ...authz.Option) (*Validator, error) {
	opts := extra
	if t.TinyCache {
		opts = append(opts, authz.WithCache(16, time.Minute))
	}
	v, err := authz.New(t.Issuer.URL(), []string{Audience}, opts...)
	if err != nil {
		return nil, err
	}
	return &Validator{
		Validate: func(ctx context.Context, token string) (string, error) {
			c, err := v.Validate(ctx, token)
			if err != nil {
				return "", err
			}
			if !c.HasScopes(Permission) {
				return "", errMissingPermission
			}
			return c.Subject, nil
		},
		Close: v.Close,
	}, nil
}

// logtoClaims are the claims a golang-jwt user decodes from a Logto access
// token.
type logtoClaims struct {
	golangjwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// newGolangJWT is golang-jwt/jwt/v5 with keyfunc/v3 over the issuer's JWKS
// (background refresh, refetch on an unknown kid), and a parser built once
// with the strict options a resource server needs: the issuer's algorithm
// only, iss, aud, exp required, iat not in the future, 30 s leeway.
func newGolangJWT(t Target) (*Validator, error) {
	ctx, cancel := context.WithCancel(context.Background())
	k, err := keyfunc.NewDefaultCtx(ctx, []string{t.Issuer.JWKSURL()})
	if err != nil {
		cancel()
		return nil, err
	}
	parser := golangjwt.NewParser(
		golangjwt.WithValidMethods([]string{t.Alg}),
		golangjwt.WithIssuer(t.Issuer.URL()),
		golangjwt.WithAudience(Audience),
		golangjwt.WithExpirationRequired(),
		golangjwt.WithIssuedAt(),
		golangjwt.WithLeeway(Leeway),
	)
	kf := k.Keyfunc
	return &Validator{
		Validate: func(_ context.Context, token string) (string, error) {
			var c logtoClaims
			if _, err := parser.ParseWithClaims(token, &c, kf); err != nil {
				return "", err
			}
			if !hasScope(c.Scope, Permission) {
				return "", errMissingPermission
			}
			return c.Subject, nil
		},
		Close: cancel,
	}, nil
}

// auth0Claims are auth0's custom claims for Logto's client_id and scope,
// decoded by the validator after the registered claims.
type auth0Claims struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// Validate implements auth0's CustomClaims; the scope is checked by the
// caller, as the route decides which permission it needs.
func (*auth0Claims) Validate(context.Context) error { return nil }

// newAuth0 is auth0/go-jwt-middleware/v3's validator (jwx v3 underneath)
// with its caching JWKS provider (discovery once, the set refreshed every
// 15 min), the issuer's algorithm, iss, aud, 30 s clock skew, and custom
// claims for client_id and scope. Only the validator is measured, not the
// HTTP middleware.
//
// Logto's RSA keys carry no "alg", and auth0 hands the provider's set to
// jwx without letting it infer the algorithm from the key type, so no key
// matches an RS256 token. For RSA, the key function therefore returns a
// copy of the cached set with "alg" filled in, made once per set the
// provider returns (see keySetWithAlg).
func newAuth0(t Target) (*Validator, error) {
	issuer, err := url.Parse(t.Issuer.URL())
	if err != nil {
		return nil, err
	}
	provider, err := auth0jwks.NewCachingProvider(auth0jwks.WithIssuerURL(issuer))
	if err != nil {
		return nil, err
	}
	keyFunc := provider.KeyFunc
	if strings.HasPrefix(t.Alg, "RS") {
		alg, ok := jwa.LookupSignatureAlgorithm(t.Alg)
		if !ok {
			return nil, fmt.Errorf("bench: jwx knows no algorithm %q", t.Alg)
		}
		keyFunc = keySetWithAlg(keyFunc, alg)
	}
	v, err := auth0.New(
		auth0.WithKeyFunc(keyFunc),
		auth0.WithAlgorithm(auth0.SignatureAlgorithm(t.Alg)),
		auth0.WithIssuer(t.Issuer.URL()),
		auth0.WithAudience(Audience),
		auth0.WithAllowedClockSkew(Leeway),
		auth0.WithCustomClaims(func() *auth0Claims { return &auth0Claims{} }),
	)
	if err != nil {
		return nil, err
	}
	return &Validator{
		Validate: func(ctx context.Context, token string) (string, error) {
			out, err := v.ValidateToken(ctx, token)
			if err != nil {
				return "", err
			}
			vc, ok := out.(*auth0.ValidatedClaims)
			if !ok {
				return "", fmt.Errorf("bench: auth0 returned %T", out)
			}
			cc, ok := vc.CustomClaims.(*auth0Claims)
			if !ok {
				return "", fmt.Errorf("bench: auth0 custom claims are %T", vc.CustomClaims)
			}
			if !hasScope(cc.Scope, Permission) {
				return "", errMissingPermission
			}
			return vc.RegisteredClaims.Subject, nil
		},
		Close: func() {},
	}, nil
}

// keySetWithAlg wraps an auth0 key function returning a jwk.Set: it returns
// a copy of the set whose keys without "alg" get alg, rebuilt only when the
// underlying set changes (after a refresh).
func keySetWithAlg(keyFunc func(context.Context) (any, error), alg jwa.SignatureAlgorithm) func(context.Context) (any, error) {
	type pair struct{ src, fixed jwk.Set }
	var last atomic.Pointer[pair]
	return func(ctx context.Context) (any, error) {
		got, err := keyFunc(ctx)
		if err != nil {
			return nil, err
		}
		src, ok := got.(jwk.Set)
		if !ok {
			return nil, fmt.Errorf("bench: auth0 key function returned %T, not a jwk.Set", got)
		}
		if p := last.Load(); p != nil && p.src == src {
			return p.fixed, nil
		}
		fixed, err := src.Clone()
		if err != nil {
			return nil, err
		}
		for i := range fixed.Len() {
			key, _ := fixed.Key(i)
			if _, has := key.Algorithm(); !has {
				if err := key.Set(jwk.AlgorithmKey, alg); err != nil {
					return nil, err
				}
			}
		}
		last.Store(&pair{src: src, fixed: fixed})
		return fixed, nil
	}
}

// newJWX is lestrrat-go/jwx/v3: a jwk.Cache (httprc, background refresh)
// registered with the JWKS URL, and jwt.ParseString with options built
// once: the cached set (kid required; the algorithm inferred from the key
// type when the key has no "alg", as Logto's RSA keys do), iss, aud, exp
// required, 30 s skew.
func newJWX(t Target) (*Validator, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cache, err := jwk.NewCache(ctx, httprc.NewClient())
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cache.Register(ctx, t.Issuer.JWKSURL()); err != nil {
		cancel()
		return nil, err
	}
	set, err := cache.CachedSet(t.Issuer.JWKSURL())
	if err != nil {
		cancel()
		return nil, err
	}
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true)),
		jwxjwt.WithValidate(true),
		jwxjwt.WithIssuer(t.Issuer.URL()),
		jwxjwt.WithAudience(Audience),
		jwxjwt.WithRequiredClaim(jwxjwt.ExpirationKey),
		jwxjwt.WithAcceptableSkew(Leeway),
	}
	return &Validator{
		Validate: func(_ context.Context, token string) (string, error) {
			tok, err := jwxjwt.ParseString(token, opts...)
			if err != nil {
				return "", err
			}
			var scope string
			if err := tok.Get("scope", &scope); err != nil || !hasScope(scope, Permission) {
				return "", errMissingPermission
			}
			sub, _ := tok.Subject()
			return sub, nil
		},
		Close: func() {
			_ = cache.Shutdown(context.Background())
			cancel()
		},
	}, nil
}

// oidcClaims are the claims a go-oidc user decodes with IDToken.Claims.
type oidcClaims struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// newOIDC is coreos/go-oidc/v3: a RemoteKeySet on the JWKS URL and a
// verifier with ClientID set to the audience (so aud is checked), the
// issuer's algorithm, and the expiry check on (a missing exp counts as
// expired). It verifies ID tokens and ignores "typ", which it cannot be
// told to require.
func newOIDC(t Target) (*Validator, error) {
	ctx, cancel := context.WithCancel(context.Background())
	keys := oidc.NewRemoteKeySet(ctx, t.Issuer.JWKSURL())
	verifier := oidc.NewVerifier(t.Issuer.URL(), keys, &oidc.Config{
		ClientID:             Audience,
		SupportedSigningAlgs: []string{t.Alg},
	})
	return &Validator{
		Validate: func(ctx context.Context, token string) (string, error) {
			idt, err := verifier.Verify(ctx, token)
			if err != nil {
				return "", err
			}
			var c oidcClaims
			if err := idt.Claims(&c); err != nil {
				return "", err
			}
			if !hasScope(c.Scope, Permission) {
				return "", errMissingPermission
			}
			return idt.Subject, nil
		},
		Close: cancel,
	}, nil
}
