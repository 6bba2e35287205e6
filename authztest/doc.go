// Package authztest runs an in-process OAuth 2.0 / OpenID Connect issuer
// shaped like a Logto tenant, for testing APIs that accept Logto JWT access
// tokens. It is to an identity provider what [net/http/httptest] is to an
// HTTP server: real keys, a real JWK Set served over loopback HTTP, and real
// signed tokens, with no network access and no Logto account.
//
// # Issuer
//
// [NewIssuer] starts an [httptest.Server] on 127.0.0.1 and generates a
// signing key. Point the code under test at [Issuer.URL] (the issuer
// identifier, which ends in "/oidc" like Logto's) and call [Issuer.Close]
// when the test ends:
//
//	iss, err := authztest.NewIssuer()
//	if err != nil {
//		t.Fatal(err)
//	}
//	t.Cleanup(iss.Close)
//
// The server answers two routes, as a Logto tenant does:
//
//   - GET <URL>/.well-known/openid-configuration, the discovery document;
//   - GET <URL>/jwks, the JWK Set, sent with
//     "Cache-Control: no-cache, max-age=0, must-revalidate".
//
// [Issuer.Handle] adds routes under the issuer URL, such as the token
// endpoint "POST /token" that the discovery document advertises, and
// [WithListener] serves on a listener of the caller's choosing (a fixed
// address for a development server) instead of a new 127.0.0.1 port.
//
// The signing algorithm is ES384 (Logto's default P-384 key) unless
// [WithAlgorithm] selects ES256, ES512 or RS256. Every key's "kid" is its
// RFC 7638 SHA-256 JWK thumbprint. EC keys in the JWK Set carry "alg" and RSA
// keys do not, which is what Logto publishes.
//
// # Tokens
//
// Four methods mint the token kinds a Logto API receives (see RFC 9068 for
// the JWT access token profile):
//
//   - [Issuer.APIToken]: an API resource token, "aud" is the resource
//     indicator;
//   - [Issuer.OrganizationToken]: "aud" is "urn:logto:organization:<id>",
//     with no "organization_id" claim;
//   - [Issuer.OrganizationAPIToken]: "aud" is the resource indicator and
//     "organization_id" names the organization;
//   - [Issuer.MachineToken]: a client-credentials token, "sub" equals
//     "client_id".
//
// Each carries the header members "alg", "typ" ("at+jwt") and "kid", and the
// claims "iss", "aud", "sub", "client_id", "iat", "exp" and "jti". "scope" is
// present only when [Scopes] is given. [TokenOption] values change any of
// this, including into tokens that a correct validator must reject: [Expired],
// [NotBefore], [IssuerClaim], [Audiences], [TokenType], [Header], [KeyID],
// [SignedByUnknownKey], [Claim] and [WithoutClaim].
//
// # Key rotation and outages
//
// Like Logto, the JWK Set holds the current key, a staged next key and the
// previous key. [Issuer.StageNextKey] publishes a next key without signing
// with it, [Issuer.RotateKeys] makes it current and keeps the old one
// published as previous, and [Issuer.DropPreviousKey] removes the previous
// key. [Issuer.SetUnavailable] makes discovery and the JWK Set answer 503, and
// [Issuer.JWKSRequests] counts JWK Set fetches, so tests can check how a
// key cache behaves during rotation, outages and floods of unknown "kid"s.
//
// # Concurrency
//
// All methods of [Issuer] are safe for concurrent use, including while the
// server is answering requests.
package authztest
