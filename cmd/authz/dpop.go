package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/internal/thumbprint"
)

// proofTolerance is how far a token request's DPoP proof "iat" may be from
// the dev issuer's clock.
const proofTolerance = 5 * time.Minute

// dpopKey checks the DPoP proof of a token request (RFC 9449 section 5), if
// it has one, and returns the thumbprint of its key, which the token is
// then bound to ("cnf.jkt"); "" for a request without a proof. The proof
// must be one JWT with "typ" dpop+jwt, an asymmetric "alg", a public "jwk"
// that verifies its signature, "htm" POST, "htu" the token endpoint, a
// "jti" and a recent "iat". It is a development issuer: proofs are not
// checked for replay.
func (te *tokenEndpoint) dpopKey(r *http.Request) (string, error) {
	vals := r.Header.Values("DPoP")
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1:
		return "", badRequest("invalid_dpop_proof", "the request has more than one DPoP header")
	}
	var m jwkset.JWKMarshal
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(vals[0], claims, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, "dpop+jwt") {
			return nil, fmt.Errorf(`"typ" is %q, not "dpop+jwt"`, typ)
		}
		raw, err := json.Marshal(t.Header["jwk"])
		if err != nil || json.Unmarshal(raw, &m) != nil || m.KTY == "" {
			return nil, fmt.Errorf(`no "jwk" header`)
		}
		if m.D != "" || m.P != "" || m.Q != "" || m.DP != "" || m.DQ != "" || m.QI != "" || m.K != "" {
			return nil, fmt.Errorf(`"jwk" holds a private key`)
		}
		k, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			return nil, fmt.Errorf(`"jwk" is not a valid public key`)
		}
		return k.Key(), nil
	}, jwt.WithValidMethods(authz.DefaultDPoPAlgorithms), jwt.WithoutClaimsValidation())
	if err != nil {
		return "", badRequest("invalid_dpop_proof", "the DPoP proof does not verify: %v", err)
	}
	htm, _ := claims["htm"].(string)
	htu, _ := claims["htu"].(string)
	jti, _ := claims["jti"].(string)
	iat, _ := claims["iat"].(float64)
	tokenURL := te.issuer.URL() + "/token"
	switch {
	case htm != http.MethodPost:
		return "", badRequest("invalid_dpop_proof", `the DPoP proof's "htm" is %s, not POST`, quoteValue(htm))
	case htu != tokenURL:
		return "", badRequest("invalid_dpop_proof", `the DPoP proof's "htu" is %s, not %s`, quoteValue(htu), tokenURL)
	case jti == "":
		return "", badRequest("invalid_dpop_proof", `the DPoP proof has no "jti"`)
	case time.Since(time.Unix(int64(iat), 0)).Abs() > proofTolerance:
		return "", badRequest("invalid_dpop_proof", `the DPoP proof's "iat" is more than %v from now`, proofTolerance)
	}
	jkt, err := thumbprint.Of(m)
	if err != nil {
		return "", badRequest("invalid_dpop_proof", `the DPoP proof's "jwk" has no thumbprint`)
	}
	return jkt, nil
}
