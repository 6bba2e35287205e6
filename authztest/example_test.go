package authztest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/seed31d61d31/authz/authztest"
)

// inspect decodes a token without verifying it, for printing.
func inspect(token string) (header map[string]any, claims jwt.MapClaims) {
	claims = jwt.MapClaims{}
	parsed, _, err := jwt.NewParser().ParseUnverified(token, claims)
	if err != nil {
		panic(err)
	}
	return parsed.Header, claims
}

// fetchKeys downloads the issuer's JWK Set and returns its keys by kid.
func fetchKeys(iss *authztest.Issuer) (map[string]jwkset.JWK, error) {
	resp, err := http.Get(iss.JWKSURL())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, err
	}
	keys := map[string]jwkset.JWK{}
	for _, m := range set.Keys {
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			return nil, err
		}
		keys[m.KID] = jwk
	}
	return keys, nil
}

func Example() {
	iss, err := authztest.NewIssuer()
	if err != nil {
		panic(err)
	}
	defer iss.Close()

	token, err := iss.APIToken("https://api.example.com", authztest.Scopes("read:documents", "write:documents"))
	if err != nil {
		panic(err)
	}

	header, claims := inspect(token)
	fmt.Println("alg:", header["alg"])
	fmt.Println("typ:", header["typ"])
	fmt.Println("kid is current key:", header["kid"] == iss.KeyID())
	fmt.Println("iss is URL:", claims["iss"] == iss.URL())
	fmt.Println("aud:", claims["aud"])
	fmt.Println("sub:", claims["sub"])
	fmt.Println("client_id:", claims["client_id"])
	fmt.Println("scope:", claims["scope"])
	// Output:
	// alg: ES384
	// typ: at+jwt
	// kid is current key: true
	// iss is URL: true
	// aud: https://api.example.com
	// sub: test-user
	// client_id: test-app
	// scope: read:documents write:documents
}

// A validator fetches the JWK Set over HTTP and checks the signature with
// the key the token's "kid" names.
func Example_verify() {
	iss, err := authztest.NewIssuer(authztest.WithAlgorithm("RS256"))
	if err != nil {
		panic(err)
	}
	defer iss.Close()

	token, err := iss.MachineToken("https://api.example.com", "m2m-app")
	if err != nil {
		panic(err)
	}
	keys, err := fetchKeys(iss)
	if err != nil {
		panic(err)
	}

	parsed, err := jwt.Parse(token, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		jwk, ok := keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return jwk.Key(), nil
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(iss.URL()),
		jwt.WithAudience("https://api.example.com"),
		jwt.WithExpirationRequired(),
	)
	fmt.Println("valid:", err == nil && parsed.Valid)

	forged, err := iss.MachineToken("https://api.example.com", "m2m-app", authztest.SignedByUnknownKey())
	if err != nil {
		panic(err)
	}
	_, err = jwt.Parse(forged, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		jwk, ok := keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown kid")
		}
		return jwk.Key(), nil
	}, jwt.WithValidMethods([]string{"RS256"}))
	fmt.Println("forged rejected:", err != nil)
	// Output:
	// valid: true
	// forged rejected: true
}

func ExampleIssuer_OrganizationToken() {
	iss, err := authztest.NewIssuer()
	if err != nil {
		panic(err)
	}
	defer iss.Close()

	token, err := iss.OrganizationToken("org-42", authztest.Scopes("invite:member"))
	if err != nil {
		panic(err)
	}
	_, claims := inspect(token)
	_, hasOrgID := claims["organization_id"]
	fmt.Println("aud:", claims["aud"])
	fmt.Println("scope:", claims["scope"])
	fmt.Println("has organization_id:", hasOrgID)
	// Output:
	// aud: urn:logto:organization:org-42
	// scope: invite:member
	// has organization_id: false
}

func ExampleIssuer_OrganizationAPIToken() {
	iss, err := authztest.NewIssuer()
	if err != nil {
		panic(err)
	}
	defer iss.Close()

	token, err := iss.OrganizationAPIToken("https://api.example.com", "org-42", authztest.Scopes("read:reports"))
	if err != nil {
		panic(err)
	}
	_, claims := inspect(token)
	fmt.Println("aud:", claims["aud"])
	fmt.Println("organization_id:", claims["organization_id"])
	fmt.Println("scope:", claims["scope"])
	// Output:
	// aud: https://api.example.com
	// organization_id: org-42
	// scope: read:reports
}

func ExampleIssuer_MachineToken() {
	iss, err := authztest.NewIssuer()
	if err != nil {
		panic(err)
	}
	defer iss.Close()

	token, err := iss.MachineToken("https://api.example.com", "m2m-app")
	if err != nil {
		panic(err)
	}
	_, claims := inspect(token)
	_, hasScope := claims["scope"]
	fmt.Println("sub:", claims["sub"])
	fmt.Println("client_id:", claims["client_id"])
	fmt.Println("has scope:", hasScope)
	// Output:
	// sub: m2m-app
	// client_id: m2m-app
	// has scope: false
}

func ExampleIssuer_RotateKeys() {
	iss, err := authztest.NewIssuer()
	if err != nil {
		panic(err)
	}
	defer iss.Close()

	published := func() int {
		keys, err := fetchKeys(iss)
		if err != nil {
			panic(err)
		}
		return len(keys)
	}

	old := iss.KeyID()
	next := iss.StageNextKey()
	fmt.Println("staged: keys published:", published(), "signing with old key:", iss.KeyID() == old)

	fmt.Println("rotated to staged key:", iss.RotateKeys() == next)
	fmt.Println("rotated: keys published:", published())

	iss.DropPreviousKey()
	fmt.Println("dropped: keys published:", published())
	// Output:
	// staged: keys published: 2 signing with old key: true
	// rotated to staged key: true
	// rotated: keys published: 2
	// dropped: keys published: 1
}

func ExampleWithClock() {
	now := time.Date(2025, time.January, 2, 15, 4, 5, 0, time.UTC)
	iss, err := authztest.NewIssuer(authztest.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	defer iss.Close()

	for _, opts := range [][]authztest.TokenOption{nil, {authztest.Expired()}} {
		token, err := iss.APIToken("https://api.example.com", opts...)
		if err != nil {
			panic(err)
		}
		_, claims := inspect(token)
		iat, _ := claims.GetIssuedAt()
		exp, _ := claims.GetExpirationTime()
		fmt.Println("iat:", iat.UTC().Format(time.RFC3339), "exp:", exp.UTC().Format(time.RFC3339))
	}
	// Output:
	// iat: 2025-01-02T15:04:05Z exp: 2025-01-02T16:04:05Z
	// iat: 2025-01-02T13:04:05Z exp: 2025-01-02T14:04:05Z
}

func ExampleTokenType() {
	iss, err := authztest.NewIssuer()
	if err != nil {
		panic(err)
	}
	defer iss.Close()

	// An ID token is typed "JWT"; a validator of access tokens must refuse it.
	idLike, err := iss.APIToken("https://api.example.com", authztest.TokenType("JWT"))
	if err != nil {
		panic(err)
	}
	untyped, err := iss.APIToken("https://api.example.com", authztest.TokenType(""))
	if err != nil {
		panic(err)
	}
	h1, _ := inspect(idLike)
	h2, _ := inspect(untyped)
	_, hasTyp := h2["typ"]
	fmt.Println("typ:", h1["typ"])
	fmt.Println("untyped has typ:", hasTyp)
	// Output:
	// typ: JWT
	// untyped has typ: false
}
