package authz_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/seed31d61d31/authz"
)

func ExampleLoadPolicy() {
	p, err := authz.LoadPolicy(strings.NewReader(`{"rules": [
		{"route": "GET /orgs/{orgID}/documents", "organization": {"pathValue": "orgID"}, "allOf": ["read:documents"]},
		{"route": "POST /documents", "organization": {"header": "X-Organization-Id"}, "anyOf": ["write:documents", "admin"]},
		{"route": "GET /me"},
		{"route": "/healthz", "public": true}
	]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Log what the API enforces at start-up.
	for _, r := range p.Rules() {
		fmt.Println(r)
	}
	// Output:
	// GET /orgs/{orgID}/documents: organization from path value "orgID"; all of read:documents
	// POST /documents: organization from header "X-Organization-Id"; any of write:documents, admin
	// GET /me: any valid token
	// /healthz: public
}

func ExampleLoadPolicy_error() {
	_, err := authz.LoadPolicy(strings.NewReader(`{"rules": [
		{"route": "GET /documents/{id}", "allOf": ["read:documents"]},
		{"route": "GET /orgs/{orgID}/documents", "organization": {"pathValue": "org"}}
	]}`))
	var pe *authz.PolicyError
	if errors.As(err, &pe) {
		fmt.Println("rule:", pe.Index, "line:", pe.Line, "route:", pe.Route)
	}
	fmt.Println(err)
	// Output:
	// rule: 1 line: 3 route: GET /orgs/{orgID}/documents
	// authz: policy rule 1 ("GET /orgs/{orgID}/documents") at line 3: organization from unknown path value "org": the route's wildcards are orgID
}

func ExampleNewPolicy() {
	p, err := authz.NewPolicy(
		authz.Rule{Pattern: "GET /documents/{id}", AllOf: []string{"read:documents"}},
		// Every route not listed above admits any valid token.
		authz.Rule{Pattern: "/"},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(p.Rules()), "rules")

	// Two patterns matching the same requests are refused.
	_, err = authz.NewPolicy(
		authz.Rule{Pattern: "GET /documents/{id}"},
		authz.Rule{Pattern: "GET /documents/{docID}", Public: true},
	)
	fmt.Println(err)
	// Output:
	// 2 rules
	// authz: policy rule 1 ("GET /documents/{docID}"): route conflicts with rule 0 ("GET /documents/{id}"): GET /documents/{docID} matches the same requests as GET /documents/{id}
}

func ExampleRule_Authorize() {
	rule := authz.Rule{
		Pattern:      "GET /orgs/{orgID}/documents",
		Organization: &authz.OrgSource{PathValue: "orgID"},
		AllOf:        []string{"read:documents"},
	}
	member := &authz.Claims{Scopes: []string{"read:documents"}, OrganizationID: "org-a"}
	// A token for the API requested without an organization carries the
	// scopes of all the user's organizations: it never passes.
	noOrg := &authz.Claims{Scopes: []string{"read:documents"}}

	fmt.Println(rule.Authorize(member, "org-a"))
	fmt.Println(rule.Authorize(member, "org-b"))
	fmt.Println(rule.Authorize(noOrg, "org-a"))
	fmt.Println(rule.Authorize(&authz.Claims{OrganizationID: "org-a"}, "org-a"))
	fmt.Println(rule.Authorize(nil, "org-a"))
	// Output:
	// <nil>
	// authz: wrong organization: token is for another organization
	// authz: wrong organization: token is not for any organization
	// authz: insufficient scope: missing permission read:documents
	// authz: missing token
}
