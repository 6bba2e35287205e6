// Package routematrix is the expected answer of every kind of route to
// every kind of token: the one table that the HTTP middleware, the gRPC
// interceptors and the Check functions are each tested against, so that a
// route means the same on every transport. It holds data only; each test
// mints the tokens and builds the routes its own way.
package routematrix

import "github.com/seed31d61d31/authz/authztest"

// Permission is the permission every token grants and every route
// requires. API tokens and organization tokens both carry it: the name
// collides across the two namespaces on purpose.
const Permission = "read:notes"

// Other is the second permission of an any-of route; no token has it.
const Other = "admin:notes"

// Org is the organization every request that names one names.
const Org = "org-a"

// Token is a kind of token the matrix sends.
type Token struct {
	// Name identifies the token in test names.
	Name string
	// Organization is true for an organization token (aud =
	// urn:logto:organization:<OrgID>), false for an API token.
	Organization bool
	// OrgID is the organization the token is bound to, "" for none.
	OrgID string
	// Machine is a machine-to-machine token (sub == client_id).
	Machine bool
	// Expired has an "exp" one hour in the past.
	Expired bool
}

// Tokens are the tokens of the matrix.
var Tokens = []Token{
	{Name: "user API token"},
	{Name: "M2M API token", Machine: true},
	{Name: "user API token for org-a", OrgID: "org-a"},
	{Name: "M2M API token for org-a", OrgID: "org-a", Machine: true},
	{Name: "user API token for org-b", OrgID: "org-b"},
	{Name: "user organization token for org-a", Organization: true, OrgID: "org-a"},
	{Name: "M2M organization token for org-a", Organization: true, OrgID: "org-a", Machine: true},
	{Name: "user organization token for org-b", Organization: true, OrgID: "org-b"},
	{Name: "expired user API token", Expired: true},
	{Name: "expired M2M API token", Machine: true, Expired: true},
	{Name: "expired API token for org-a", OrgID: "org-a", Expired: true},
	{Name: "expired organization token for org-a", Organization: true, OrgID: "org-a", Expired: true},
}

// Binding is how a route is bound to an organization.
type Binding int

// The bindings.
const (
	Global      Binding = iota // no organization
	FromRequest                // the organization the request names: Org
	FromToken                  // the token's own organization
)

// Route is a kind of route.
type Route struct {
	// Name identifies the route kind in test names.
	Name string
	// Organization is true for a route that takes organization tokens,
	// false for one that takes API tokens.
	Organization bool
	Binding      Binding
	// AnyOf requires one of Permission and Other, instead of Permission.
	AnyOf bool
	// want is the outcome of each token, by Token.Name.
	want map[string]Outcome
}

// Outcome is the expected answer.
type Outcome struct {
	// Status is the HTTP status: 200, 401 or 403.
	Status int
	// Sentinel is the Go name of the authz sentinel error, "" for 200.
	Sentinel string
	// Reason is the refusal's reason (its error_description).
	Reason string
}

var (
	ok      = Outcome{Status: 200}
	expired = Outcome{Status: 401, Sentinel: "ErrExpired", Reason: "expired 1h0m0s ago"}
	notAPI  = Outcome{Status: 401, Sentinel: "ErrAudience", Reason: "token is an organization token, not an access token for this API"}
	notOrg  = Outcome{Status: 401, Sentinel: "ErrAudience", Reason: "token is an access token for an API resource, not an organization token"}
	bound   = Outcome{Status: 403, Sentinel: "ErrOrganization", Reason: "token is bound to an organization, whose permissions hold only inside it; this operation is outside every organization"}
	noOrg   = Outcome{Status: 403, Sentinel: "ErrOrganization", Reason: "token is not for any organization"}
	other   = Outcome{Status: 403, Sentinel: "ErrOrganization", Reason: "token is for another organization"}
)

// Want is the expected outcome of token t on route r.
func (r Route) Want(t Token) Outcome { return r.want[t.Name] }

// row lists the outcomes of the tokens, in the order of Tokens.
func row(outcomes ...Outcome) map[string]Outcome {
	if len(outcomes) != len(Tokens) {
		panic("routematrix: a row needs one outcome per token")
	}
	m := make(map[string]Outcome, len(Tokens))
	for i, o := range outcomes {
		m[Tokens[i].Name] = o
	}
	return m
}

// Routes are the route kinds of the matrix. The columns of each row are
// Tokens: user API, M2M API, user API org-a, M2M API org-a, user API
// org-b, user organization org-a, M2M organization org-a, user
// organization org-b, then the four expired tokens.
var Routes = []Route{
	{Name: "global, all of", Binding: Global,
		want: row(ok, ok, bound, bound, bound, notAPI, notAPI, notAPI, expired, expired, expired, expired)},
	{Name: "global, any of", Binding: Global, AnyOf: true,
		want: row(ok, ok, bound, bound, bound, notAPI, notAPI, notAPI, expired, expired, expired, expired)},
	{Name: "API tokens, organization from the request", Binding: FromRequest,
		want: row(noOrg, noOrg, ok, ok, other, notAPI, notAPI, notAPI, expired, expired, expired, expired)},
	{Name: "API tokens, organization from the token", Binding: FromToken,
		want: row(noOrg, noOrg, ok, ok, ok, notAPI, notAPI, notAPI, expired, expired, expired, expired)},
	{Name: "organization tokens, organization from the request", Organization: true, Binding: FromRequest,
		want: row(notOrg, notOrg, notOrg, notOrg, notOrg, ok, ok, other, expired, expired, expired, expired)},
	{Name: "organization tokens, organization from the token", Organization: true, Binding: FromToken,
		want: row(notOrg, notOrg, notOrg, notOrg, notOrg, ok, ok, ok, expired, expired, expired, expired)},
}

// Permissions are the permissions route r requires: all of them, or one.
func (r Route) Permissions() []string {
	if r.AnyOf {
		return []string{Permission, Other}
	}
	return []string{Permission}
}

// Mint mints token t for the API resource api with iss. Every token
// grants Permission; a machine-to-machine token's subject is its client.
func Mint(iss *authztest.Issuer, api string, t Token) (string, error) {
	opts := []authztest.TokenOption{authztest.Scopes(Permission)}
	if t.Machine {
		opts = append(opts, authztest.Subject("sync-app"), authztest.ClientID("sync-app"))
	}
	if t.Expired {
		opts = append(opts, authztest.Expired())
	}
	switch {
	case t.Organization:
		return iss.OrganizationToken(t.OrgID, opts...)
	case t.OrgID != "":
		return iss.OrganizationAPIToken(api, t.OrgID, opts...)
	default:
		return iss.APIToken(api, opts...)
	}
}
