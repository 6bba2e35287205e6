package authztest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// defaultLifetime is Logto's default access token lifetime.
const defaultLifetime = time.Hour

// Defaults of the claims every minted token carries.
const (
	defaultSubject  = "test-user"
	defaultClientID = "test-app"
)

// organizationAudiencePrefix starts the audience of a Logto organization
// token.
const organizationAudiencePrefix = "urn:logto:organization:"

// tokenSpec is the token being built. Options edit it in order, so a later
// option overrides an earlier one for the same claim or header member.
type tokenSpec struct {
	now    time.Time
	claims map[string]any
	header map[string]any // without "alg", which follows the signing key

	kidSet      bool // "kid" was set or removed by an option
	expSet      bool // "exp" was set or removed by an option
	unknownKey  bool
	optionError error
}

// TokenOption changes a token minted by [Issuer.APIToken],
// [Issuer.OrganizationToken], [Issuer.OrganizationAPIToken] or
// [Issuer.MachineToken]. Options apply in order, so a later option wins over
// an earlier one that sets the same claim or header member. A nil
// TokenOption is ignored.
type TokenOption interface {
	applyToken(*tokenSpec)
}

type tokenOptionFunc func(*tokenSpec)

func (f tokenOptionFunc) applyToken(s *tokenSpec) { f(s) }

func setClaim(name string, value any) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) { s.claims[name] = value })
}

// Subject sets the "sub" claim. The default is "test-user", except for
// [Issuer.MachineToken], where it is the client ID.
func Subject(sub string) TokenOption { return setClaim("sub", sub) }

// ClientID sets the "client_id" claim, the application that obtained the
// token. The default is "test-app", except for [Issuer.MachineToken], where
// it is the client ID argument.
func ClientID(id string) TokenOption { return setClaim("client_id", id) }

// Scopes sets the "scope" claim to the scopes joined by single spaces.
// Without this option the claim is absent, as in a Logto machine-to-machine
// token requested with no scope. Scopes() with no arguments sets it to the
// empty string "". Both mean "no permissions" in Logto. To send "scope" in
// another shape, such as a JSON array, use [Claim].
func Scopes(scopes ...string) TokenOption {
	return setClaim("scope", strings.Join(scopes, " "))
}

// Actor sets the "act" claim to {"sub": sub}, as Logto does for
// impersonation and token exchange with an actor token (RFC 8693). By
// default there is no "act" claim.
func Actor(sub string) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) {
		s.claims["act"] = map[string]any{"sub": sub}
	})
}

// Claim sets the top-level claim name to value, adding a claim or replacing
// a default one, such as a custom claim from a Logto custom-claims script or
// "scope" as a JSON array. The value must be encodable as JSON, or minting
// returns an error. After Claim("exp", …), a later [IssuedAt] no longer
// moves "exp".
func Claim(name string, value any) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) {
		s.claims[name] = value
		if name == "exp" {
			s.expSet = true
		}
	})
}

// WithoutClaim removes the claim name, for example "exp", "iss", "aud" or
// "sub", to test how a validator handles a missing claim. Removing a claim
// that is absent does nothing.
func WithoutClaim(name string) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) {
		delete(s.claims, name)
		if name == "exp" {
			s.expSet = true
		}
	})
}

// IssuedAt sets the "iat" claim to t, in whole seconds. The default is the
// issuer's clock (see [WithClock]). Unless "exp" was set by an earlier
// option, "exp" moves with it to t plus one hour.
func IssuedAt(t time.Time) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) {
		s.claims["iat"] = t.Unix()
		if !s.expSet {
			s.claims["exp"] = t.Add(defaultLifetime).Unix()
		}
	})
}

// ExpiresAt sets the "exp" claim to t, in whole seconds. The default is
// "iat" plus one hour, Logto's default access token lifetime.
func ExpiresAt(t time.Time) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) {
		s.claims["exp"] = t.Unix()
		s.expSet = true
	})
}

// Expired makes the token expired an hour ago: "iat" is the issuer's clock
// minus two hours and "exp" the clock minus one hour.
func Expired() TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) {
		s.claims["iat"] = s.now.Add(-2 * time.Hour).Unix()
		s.claims["exp"] = s.now.Add(-time.Hour).Unix()
		s.expSet = true
	})
}

// NotBefore sets the "nbf" claim to t, in whole seconds. Logto never sets
// "nbf"; use this to test that a validator honours it. By default there is
// no "nbf" claim.
func NotBefore(t time.Time) TokenOption { return setClaim("nbf", t.Unix()) }

// Audiences sets the "aud" claim to a JSON array of the given audiences,
// replacing the audience chosen by the minting method. Logto always sends a
// single string, but RFC 7519 allows an array. Audiences() with no
// arguments gives an empty array.
func Audiences(aud ...string) TokenOption {
	list := slices.Clone(aud)
	if list == nil {
		list = []string{}
	}
	return tokenOptionFunc(func(s *tokenSpec) { s.claims["aud"] = slices.Clone(list) })
}

// IssuerClaim sets the "iss" claim to iss instead of [Issuer.URL], to test
// tokens from another issuer or tenant.
func IssuerClaim(iss string) TokenOption { return setClaim("iss", iss) }

// TokenType sets the "typ" header member, "at+jwt" by default (RFC 9068).
// TokenType("") removes the member. ID tokens and other JWTs that are not
// access tokens use "JWT".
func TokenType(typ string) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) {
		if typ == "" {
			delete(s.header, "typ")
			return
		}
		s.header["typ"] = typ
	})
}

// Header sets the header member name to value, for example "crit" or "jku".
// It cannot set "alg", which always names the signing algorithm: minting
// returns an error if name is "alg". Header("kid", v) replaces the default
// "kid" as [KeyID] does, and Header("typ", v) replaces "at+jwt". The value
// must be encodable as JSON, or minting returns an error.
func Header(name string, value any) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) {
		switch name {
		case "alg":
			if s.optionError == nil {
				s.optionError = errors.New(`authztest: Header cannot set "alg"`)
			}
			return
		case "kid":
			s.kidSet = true
		}
		s.header[name] = value
	})
}

// KeyID sets the "kid" header member to kid while the token is still signed
// with the current key (or with the unknown key of [SignedByUnknownKey]).
// KeyID("") removes the member. The default is the "kid" of the signing key.
func KeyID(kid string) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) {
		s.kidSet = true
		if kid == "" {
			delete(s.header, "kid")
			return
		}
		s.header["kid"] = kid
	})
}

// SignedByUnknownKey signs the token with a freshly generated key of the
// issuer's algorithm that is never published in the JWK Set. The "kid"
// header is that key's thumbprint unless [KeyID] or [Header] sets another,
// for example the current key's "kid" to test that the signature is
// checked.
func SignedByUnknownKey() TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) { s.unknownKey = true })
}

// APIToken mints an API resource token: "aud" is the resource indicator
// resource, for example "https://api.example.com". It returns an error if
// resource is empty or an option is invalid.
func (i *Issuer) APIToken(resource string, opts ...TokenOption) (string, error) {
	if resource == "" {
		return "", errors.New("authztest: APIToken: empty resource")
	}
	return i.mint(map[string]any{"aud": resource}, opts)
}

// OrganizationToken mints a Logto organization token: "aud" is
// "urn:logto:organization:" followed by orgID, and there is no
// "organization_id" claim. It returns an error if orgID is empty or an
// option is invalid.
func (i *Issuer) OrganizationToken(orgID string, opts ...TokenOption) (string, error) {
	if orgID == "" {
		return "", errors.New("authztest: OrganizationToken: empty organization ID")
	}
	return i.mint(map[string]any{"aud": organizationAudiencePrefix + orgID}, opts)
}

// OrganizationAPIToken mints an organization-level API resource token: "aud"
// is the resource indicator resource and the "organization_id" claim is
// orgID. It returns an error if resource or orgID is empty or an option is
// invalid.
func (i *Issuer) OrganizationAPIToken(resource, orgID string, opts ...TokenOption) (string, error) {
	if resource == "" {
		return "", errors.New("authztest: OrganizationAPIToken: empty resource")
	}
	if orgID == "" {
		return "", errors.New("authztest: OrganizationAPIToken: empty organization ID")
	}
	return i.mint(map[string]any{"aud": resource, "organization_id": orgID}, opts)
}

// MachineToken mints a machine-to-machine (client credentials) token for
// the API resource: "aud" is resource and both "sub" and "client_id" are
// clientID. Like a Logto M2M token requested with no scope, it has no
// "scope" claim unless [Scopes] is given. It returns an error if resource or
// clientID is empty or an option is invalid.
func (i *Issuer) MachineToken(resource, clientID string, opts ...TokenOption) (string, error) {
	if resource == "" {
		return "", errors.New("authztest: MachineToken: empty resource")
	}
	if clientID == "" {
		return "", errors.New("authztest: MachineToken: empty client ID")
	}
	return i.mint(map[string]any{"aud": resource, "sub": clientID, "client_id": clientID}, opts)
}

// mint builds, edits and signs a token. base holds the claims that the
// minting method sets over the defaults.
func (i *Issuer) mint(base map[string]any, opts []TokenOption) (string, error) {
	now := i.now()
	s := &tokenSpec{
		now: now,
		claims: map[string]any{
			"iss":       i.url,
			"sub":       defaultSubject,
			"client_id": defaultClientID,
			"iat":       now.Unix(),
			"exp":       now.Add(defaultLifetime).Unix(),
			"jti":       newJTI(),
		},
		header: map[string]any{"typ": "at+jwt"},
	}
	maps.Copy(s.claims, base)
	for _, o := range opts {
		if o != nil {
			o.applyToken(s)
		}
	}
	if s.optionError != nil {
		return "", s.optionError
	}

	var key *signingKey
	if s.unknownKey {
		k, err := newSigningKey(i.alg)
		if err != nil {
			return "", err
		}
		key = k
	} else {
		i.mu.RLock()
		key = i.current
		i.mu.RUnlock()
	}
	if !s.kidSet {
		s.header["kid"] = key.kid
	}

	token := jwt.NewWithClaims(i.algo.method, jwt.MapClaims(s.claims))
	s.header["alg"] = i.algo.method.Alg()
	token.Header = s.header
	signed, err := token.SignedString(key.private)
	if err != nil {
		return "", fmt.Errorf("authztest: signing token: %w", err)
	}
	return signed, nil
}

// jtiAlphabet has 64 URL-safe symbols, so a random byte masked to 6 bits
// picks one without bias.
const jtiAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// newJTI returns a random 21-character token ID, like the IDs Logto issues.
func newJTI() string {
	var b [21]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	for n := range b {
		b[n] = jtiAlphabet[b[n]&63]
	}
	return string(b[:])
}
