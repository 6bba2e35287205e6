package authz_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"sync"
	"time"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

// Validate an access token for an API and check its permissions. In
// production the issuer is your Logto endpoint plus "/oidc"; here an
// in-process issuer from authztest stands in for it.
func Example() {
	logto, err := authztest.NewIssuer() // stands in for https://<tenant>.logto.app/oidc
	if err != nil {
		log.Fatal(err)
	}
	defer logto.Close()

	v, err := authz.New(logto.URL(), []string{"https://api.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	token, _ := logto.APIToken("https://api.example.com", authztest.Subject("user-1"),
		authztest.Scopes("read:documents"))
	claims, err := v.Validate(context.Background(), token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.Scopes)
	fmt.Println(claims.Check("read:documents"))
	fmt.Println(claims.Check("read:documents", "write:documents"))
	// Output:
	// user-1 [read:documents]
	// <nil>
	// authz: insufficient scope: missing permission write:documents
}

// Branch on the kind of failure with errors.Is; read details with errors.As.
func ExampleError() {
	logto, _ := authztest.NewIssuer()
	defer logto.Close()
	v, _ := authz.New(logto.URL(), []string{"https://api.example.com"})
	defer v.Close()

	expired, _ := logto.APIToken("https://api.example.com", authztest.Expired())
	idToken, _ := logto.APIToken("https://api.example.com", authztest.TokenType("JWT"))
	for _, token := range []string{expired, idToken, "opaque-token-without-dots"} {
		_, err := v.Validate(context.Background(), token)
		var e *authz.Error
		switch {
		case errors.Is(err, authz.ErrExpired):
			fmt.Println("expired: ask the client to refresh")
		case errors.As(err, &e):
			fmt.Printf("%v: %s\n", e.Kind, e.Reason)
		}
	}
	// Output:
	// expired: ask the client to refresh
	// authz: not an access token: "typ" is "JWT", want "at+jwt" (is this an ID token?)
	// authz: malformed token: token is not a JWT: most likely a Logto opaque access token; request the token with resource=https://api.example.com
}

// Accept organization tokens for any organization, and check that the token
// is for the organization the request names.
func ExampleAnyOrganization() {
	logto, _ := authztest.NewIssuer()
	defer logto.Close()
	v, _ := authz.New(logto.URL(), []string{authz.AnyOrganization})
	defer v.Close()

	token, _ := logto.OrganizationToken("org-a", authztest.Scopes("invite:member"))
	claims, err := v.Validate(context.Background(), token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.OrganizationID, claims.IsOrganizationToken())
	fmt.Println(claims.CheckOrganization("org-a", "invite:member"))
	fmt.Println(claims.CheckOrganization("org-b", "invite:member"))
	// Output:
	// org-a true
	// <nil>
	// authz: wrong organization: token is for another organization
}

// Check permissions deep in business logic, from the claims the middleware
// put in the context.
func ExampleCheck() {
	ctx := authz.NewContext(context.Background(), &authz.Claims{Subject: "user-1", Scopes: []string{"read:documents"}})

	fmt.Println(authz.Check(ctx, "read:documents"))
	err := authz.Check(ctx, "read:documents", "delete:documents")
	var e *authz.Error
	if errors.As(err, &e) {
		fmt.Println(e.Missing)
	}
	fmt.Println(authz.Check(context.Background(), "read:documents"))
	// Output:
	// <nil>
	// [delete:documents]
	// authz: missing token: no claims in the context
}

// Decode the custom claims added by a Logto custom token claims script into
// your own type.
func ExampleClaims_Decode() {
	logto, _ := authztest.NewIssuer()
	defer logto.Close()
	v, _ := authz.New(logto.URL(), []string{"https://api.example.com"})
	defer v.Close()

	token, _ := logto.APIToken("https://api.example.com", authztest.Claim("plan", "pro"))
	claims, err := v.Validate(context.Background(), token)
	if err != nil {
		log.Fatal(err)
	}
	var custom struct {
		Plan string `json:"plan"`
	}
	if err := claims.Decode(&custom); err != nil {
		log.Fatal(err)
	}
	fmt.Println(custom.Plan)
	// Output: pro
}

// Count decisions by reason, for metrics or audit logs. The observer never
// sees the token.
func ExampleWithObserver() {
	logto, _ := authztest.NewIssuer()
	defer logto.Close()
	var mu sync.Mutex
	reasons := map[string]int{}
	v, _ := authz.New(logto.URL(), []string{"https://api.example.com"}, authz.WithObserver(authz.Observer{
		Decision: func(_ context.Context, d authz.Decision) {
			mu.Lock()
			defer mu.Unlock()
			reasons[d.Reason()]++
		},
	}))
	defer v.Close()

	good, _ := logto.APIToken("https://api.example.com")
	expired, _ := logto.APIToken("https://api.example.com", authztest.Expired())
	for _, tok := range []string{good, good, expired, "not-a-jwt"} {
		_, _ = v.Validate(context.Background(), tok)
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Println(reasons)
	// Output: map[expired:1 malformed:1 ok:2]
}

// A requirement names the kind of token, the permissions and the binding
// to an organization. With one validator for an API and its organizations,
// an organization token never passes an API requirement, even when one of
// its organization permissions has the API permission's name.
func ExampleRequirement_Check() {
	logto, _ := authztest.NewIssuer()
	defer logto.Close()
	v, _ := authz.New(logto.URL(), []string{"https://api.example.com", authz.AnyOrganization})
	defer v.Close()

	apiToken, _ := logto.APIToken("https://api.example.com", authztest.Scopes("read:notes"))
	orgToken, _ := logto.OrganizationToken("org-a", authztest.Scopes("read:notes"))
	orgAPIToken, _ := logto.OrganizationAPIToken("https://api.example.com", "org-a", authztest.Scopes("read:notes"))

	global := authz.Requirement{AllOf: []string{"read:notes"}} // an API token bound to no organization
	inOrg := authz.Requirement{Token: authz.OrganizationToken, AllOf: []string{"read:notes"}, Organization: authz.OrganizationFromRequest}
	for _, tok := range []string{apiToken, orgToken, orgAPIToken} {
		claims, _ := v.Validate(context.Background(), tok)
		fmt.Println(global.Check(claims, ""))
		fmt.Println(inOrg.Check(claims, "org-a"))
	}

	// An organization requirement must say which kind it takes when the
	// validator accepts both; Resolve says so when the route is built.
	_, err := v.Resolve(authz.Requirement{Organization: authz.OrganizationFromRequest})
	fmt.Println(err)
	// Output:
	// <nil>
	// authz: wrong audience: token is an access token for an API resource, not an organization token
	// authz: wrong audience: token is an organization token, not an access token for this API
	// <nil>
	// authz: wrong organization: token is bound to an organization, whose permissions hold only inside it; this operation is outside every organization
	// authz: wrong audience: token is an access token for an API resource, not an organization token
	// authz: requirement: the validator accepts both API and organization tokens, so an operation inside an organization must say which it takes (set Requirement.Token)
}

// Map any error of this package to its answer on each transport.
func ExampleOutcomeOf() {
	for _, err := range []error{nil, authz.ErrExpired, authz.ErrOrganization, authz.ErrKeysUnavailable} {
		o := authz.OutcomeOf(err)
		fmt.Println(o.Code, o.HTTPStatus, o.ErrorCode, o.GRPCCode)
	}
	// Output:
	// ok 200  0
	// expired 401 invalid_token 16
	// organization 403 insufficient_scope 7
	// keys_unavailable 503 temporarily_unavailable 14
}

// Wait for the keys before reporting ready; a validator whose issuer is
// down says why.
func ExampleValidator_Ready() {
	logto, _ := authztest.NewIssuer()
	defer logto.Close()
	v, _ := authz.New(logto.URL(), []string{"https://api.example.com"})
	defer v.Close()
	fmt.Println(v.Ready(context.Background()))

	logto.SetUnavailable(true)
	down, _ := authz.New(logto.URL(), []string{"https://api.example.com"}, authz.WithLogger(slog.New(slog.DiscardHandler)))
	defer down.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := down.Ready(ctx)
	fmt.Println(errors.Is(err, authz.ErrKeysUnavailable))
	// Output:
	// <nil>
	// true
}
