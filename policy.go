package authz

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/seed31d61d31/authz/internal/header"
)

// Rule is one entry of a [Policy]: the requirement for the requests matched
// by one route pattern. The zero value of every field except Pattern means
// "not required": a Rule with only a Pattern admits any valid token (an API
// protected without RBAC). A Rule is a plain value; it is not safe to modify
// one while another goroutine reads it, and [Policy] keeps its own copies.
type Rule struct {
	// Pattern is a Go 1.22 [http.ServeMux] pattern, "[METHOD ][HOST]/[PATH]":
	// "GET /orgs/{orgID}/documents/{id}", "/healthz", "POST api.example.com/x".
	// A request is matched to the most specific pattern, as ServeMux does.
	Pattern string `json:"route"`
	// Token is the kind of token the route accepts ([Requirement.Token]);
	// in JSON "api" or "organization". Zero: an API token for a route with
	// no organization; for an organization route, the one kind the
	// validator accepts (the middleware refuses to enforce the rule with a
	// validator that accepts both).
	Token TokenKind `json:"token,omitempty"`
	// AllOf lists permissions that are all required. Empty: none.
	AllOf []string `json:"allOf,omitempty"`
	// AnyOf lists permissions of which at least one is required. Empty: none.
	// When both AllOf and AnyOf are set, both must hold.
	AnyOf []string `json:"anyOf,omitempty"`
	// Organization, when non-nil, makes the route act inside an
	// organization: the one the request names (the token must be bound to
	// that very organization), or the token's own. Nil: the route is
	// global, and a token bound to an organization is refused.
	Organization *OrgSource `json:"organization,omitempty"`
	// Public admits requests with no token at all. It cannot be combined
	// with Token, AllOf, AnyOf or Organization. Default false: a token is
	// required.
	Public bool `json:"public,omitempty"`
}

// OrgSource says where the organization a route acts in comes from.
// Exactly one field is set: the zero value names no source, and
// [NewPolicy] rejects it. Like [Rule], it is a plain value that [Policy]
// copies.
type OrgSource struct {
	// PathValue is the name of a wildcard of the rule's pattern, e.g. "orgID"
	// for "/orgs/{orgID}/documents" (read with [http.Request.PathValue]).
	PathValue string `json:"pathValue,omitempty"`
	// Header is the name of a request header, e.g. "X-Organization-Id".
	Header string `json:"header,omitempty"`
	// FromToken takes the organization the token is bound to, whichever it
	// is ([OrganizationFromToken]): the handler scopes its work by
	// [Claims.OrganizationID].
	FromToken bool `json:"fromToken,omitempty"`
}

// Policy maps HTTP routes to authorization requirements: for each route
// pattern, which permissions a token must grant and whether the request acts
// inside an organization. Build it with [NewPolicy] in code or [LoadPolicy]
// from JSON; both validate every rule once and return a [*PolicyError] naming
// the bad one. A Policy is immutable after construction and safe for
// concurrent use.
//
// The middleware matches a request to the most specific pattern, exactly as
// [http.ServeMux] does, and calls [Rule.Authorize]. Unlisted routes are
// denied unless the policy says otherwise: a rule for "/" matches every
// route no other rule matches. Mind that this includes other methods of a
// listed path: with rules "GET /documents" and a public "/", a request
// "POST /documents" is public. Give the catch-all "/" no more than "any valid
// token" unless every route really is public.
type Policy struct {
	rules []Rule
}

// NewPolicy returns a Policy enforcing rules, which it copies deeply: later
// changes to rules do not affect it. It validates every rule (see
// [LoadPolicy] for the list of checks) and returns a [*PolicyError] whose
// Index names the first bad rule; Line is always 0.
func NewPolicy(rules ...Rule) (*Policy, error) {
	return newPolicy(rules, nil)
}

// LoadPolicy reads a Policy from JSON:
//
//	{"rules": [
//	  {"route": "GET /documents/{id}", "allOf": ["read:documents"]},
//	  {"route": "POST /orgs/{orgID}/documents", "organization": {"pathValue": "orgID"}, "allOf": ["write:documents"]},
//	  {"route": "GET /members", "token": "organization", "organization": {"fromToken": true}, "allOf": ["read:members"]},
//	  {"route": "GET /me"},
//	  {"route": "/healthz", "public": true}
//	]}
//
// A rule's fields are "route" (required), "token" ("api" or
// "organization"), "allOf", "anyOf", "organization" (an object with
// "pathValue", "header" or "fromToken": true) and "public"; see [Rule]. Field
// names are case-sensitive; unknown and repeated fields, and any data after
// the object, are errors. Each rule must pass these checks, also made by
// [NewPolicy]:
//
//   - the route is a valid [http.ServeMux] pattern with no surrounding
//     whitespace, and neither repeats nor conflicts with an earlier route
//     (conflicting patterns both match some request with neither more
//     specific, e.g. "GET /a/{x}" and "GET /{y}/b");
//   - every permission is non-empty valid UTF-8 with no whitespace or
//     control character;
//   - a public rule requires nothing else;
//   - an organization names exactly one source: a path value that is a
//     wildcard of the route ({name} or {name...}), a valid header name, or
//     the token;
//   - an organization token is accepted only inside an organization;
//   - there is at least one rule.
//
// The first failure is returned as a [*PolicyError] carrying the rule's
// index, its line in the input, and its route.
func LoadPolicy(r io.Reader) (*Policy, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &PolicyError{Index: -1, Reason: "reading the policy: " + err.Error(), err: err}
	}
	d := policyDecoder{data: data}
	rules, lines, perr := d.decode()
	if perr != nil {
		return nil, perr
	}
	return newPolicy(rules, lines)
}

// Rules returns a deep copy of the policy's rules, in the order given, so an
// application can log what it enforces at start-up. Changing the result does
// not change the policy. A nil Policy has no rules.
func (p *Policy) Rules() []Rule {
	if p == nil {
		return nil
	}
	out := make([]Rule, len(p.rules))
	for i, r := range p.rules {
		out[i] = r.clone()
	}
	return out
}

// String returns the rule as one human-readable line, e.g.
// `GET /orgs/{orgID}/documents: organization from path value "orgID"; all of read:documents`,
// `/healthz: public` or `GET /me: any valid token`.
func (r Rule) String() string {
	var parts []string
	if r.Public {
		parts = append(parts, "public")
	}
	if r.Token != 0 {
		parts = append(parts, r.Token.String()+"s")
	}
	if o := r.Organization; o != nil {
		var from []string
		if o.PathValue != "" {
			from = append(from, fmt.Sprintf("path value %q", o.PathValue))
		}
		if o.Header != "" {
			from = append(from, fmt.Sprintf("header %q", o.Header))
		}
		if o.FromToken {
			from = append(from, "the token")
		}
		if from == nil {
			from = []string{"nowhere"}
		}
		parts = append(parts, "organization from "+strings.Join(from, " and "))
	}
	if len(r.AllOf) > 0 {
		parts = append(parts, "all of "+strings.Join(r.AllOf, ", "))
	}
	if len(r.AnyOf) > 0 {
		parts = append(parts, "any of "+strings.Join(r.AnyOf, ", "))
	}
	if len(parts) == 0 {
		parts = append(parts, "any valid token")
	}
	return r.Pattern + ": " + strings.Join(parts, "; ")
}

// Requirement returns what the rule requires of a token, leaving out where
// the request names its organization: the transport-neutral part that
// [Requirement.Check] enforces.
func (r Rule) Requirement() Requirement {
	req := Requirement{Token: r.Token, AllOf: r.AllOf, AnyOf: r.AnyOf}
	switch o := r.Organization; {
	case o == nil:
	case o.FromToken && o.PathValue == "" && o.Header == "":
		req.Organization = OrganizationFromToken
	default:
		req.Organization = OrganizationFromRequest
	}
	return req
}

// Authorize returns nil if claims c may make a request matched by the rule;
// orgID is the organization the request names (from the path value or
// header of r.Organization; "" when it names none). A public rule admits
// every request, even with c == nil; otherwise Authorize is
// [Requirement.Check] of [Rule.Requirement]. A rule that is Public and
// also names requirements (which [NewPolicy] rejects) fails closed: its
// requirements are enforced. Authorize is safe for concurrent use.
func (r Rule) Authorize(c *Claims, orgID string) error {
	if r.isPublic() {
		return nil
	}
	return r.Requirement().Check(c, orgID)
}

// isPublic reports whether the rule admits requests with no token: it is
// Public and requires nothing else.
func (r Rule) isPublic() bool {
	return r.Public && r.Token == 0 && r.Organization == nil && len(r.AllOf) == 0 && len(r.AnyOf) == 0
}

func (r Rule) clone() Rule {
	r.AllOf = slices.Clone(r.AllOf)
	r.AnyOf = slices.Clone(r.AnyOf)
	if r.Organization != nil {
		o := *r.Organization
		r.Organization = &o
	}
	return r
}

// PolicyError is the error of [NewPolicy] and [LoadPolicy]: what is wrong
// with the policy, and where. Use [errors.As] to read the fields.
type PolicyError struct {
	// Index is the 0-based index of the bad rule, as in [Policy.Rules]; -1
	// when the error is not about one rule (no rules, bad JSON around them).
	Index int
	// Line is the 1-based line of the bad rule (or of the bad field or
	// syntax) in the JSON given to [LoadPolicy]; 0 for [NewPolicy].
	Line int
	// Route is the bad rule's pattern, when known.
	Route string
	// Reason says what is wrong.
	Reason string
	// err is the underlying error (encoding/json, the reader), if any.
	err error
}

// Error returns `authz: policy rule 3 ("GET /x") at line 12: <reason>`,
// leaving out the parts that are unknown. The rule number is the 0-based
// Index.
func (e *PolicyError) Error() string {
	var b strings.Builder
	b.WriteString("authz: policy")
	if e.Index >= 0 {
		fmt.Fprintf(&b, " rule %d", e.Index)
	}
	if e.Route != "" {
		fmt.Fprintf(&b, " (%q)", e.Route)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the underlying error, e.g. a [*json.SyntaxError], or nil.
func (e *PolicyError) Unwrap() error { return e.err }

// newPolicy validates rules (lines[i] is rule i's line in a JSON input, or
// lines is nil) and returns a Policy holding a deep copy of them.
func newPolicy(rules []Rule, lines []int) (*Policy, error) {
	if len(rules) == 0 {
		return nil, &PolicyError{Index: -1, Reason: "no rules: the policy would deny every route"}
	}
	p := &Policy{rules: make([]Rule, len(rules))}
	for i, r := range rules {
		p.rules[i] = r.clone()
	}
	lineOf := func(i int) int {
		if lines == nil {
			return 0
		}
		return lines[i]
	}
	mux := http.NewServeMux()
	for i, r := range p.rules {
		fail := func(reason string) error {
			return &PolicyError{Index: i, Line: lineOf(i), Route: r.Pattern, Reason: reason}
		}
		if reason := checkPattern(r.Pattern); reason != "" {
			return nil, fail(reason)
		}
		if msg, ok := register(mux, r.Pattern); !ok {
			if strings.Contains(msg, " conflicts with ") {
				return nil, fail(conflict(p.rules[:i], r.Pattern, msg, lineOf))
			}
			return nil, fail(invalidPattern(r.Pattern, msg))
		}
		if reason := checkRule(r); reason != "" {
			return nil, fail(reason)
		}
	}
	return p, nil
}

// checkRule checks a rule whose pattern is valid.
func checkRule(r Rule) string {
	if r.Public {
		var extra []string
		if r.Token != 0 {
			extra = append(extra, "a token kind")
		}
		if len(r.AllOf) > 0 {
			extra = append(extra, "all-of permissions")
		}
		if len(r.AnyOf) > 0 {
			extra = append(extra, "any-of permissions")
		}
		if r.Organization != nil {
			extra = append(extra, "an organization")
		}
		if extra != nil {
			return "a public rule needs no token, yet it also requires " + strings.Join(extra, " and ")
		}
	}
	if reason := permissionsProblem(r.AllOf, r.AnyOf, "allOf", "anyOf"); reason != "" {
		return reason
	}
	switch r.Token {
	case 0, APIToken:
	case OrganizationToken:
		if r.Organization == nil {
			return "an organization token is always bound to its organization: give the rule an organization (pathValue, header or fromToken)"
		}
	default:
		return fmt.Sprintf("invalid token kind %d", uint8(r.Token))
	}
	if o := r.Organization; o != nil {
		sources := 0
		for _, set := range []bool{o.PathValue != "", o.Header != "", o.FromToken} {
			if set {
				sources++
			}
		}
		switch {
		case sources > 1:
			return "organization names more than one of a path value, a header and the token; set exactly one"
		case sources == 0:
			return "organization names neither a path value, a header nor the token; set exactly one"
		case o.Header != "" && !header.ValidName(o.Header):
			return fmt.Sprintf("organization header %q is not a valid header field name", o.Header)
		case o.PathValue != "":
			_, _, path := splitPattern(r.Pattern)
			names := wildcards(path)
			if !slices.Contains(names, o.PathValue) {
				have := "the route has no wildcards"
				if len(names) > 0 {
					have = "the route's wildcards are " + strings.Join(names, ", ")
				}
				return fmt.Sprintf("organization from unknown path value %q: %s", o.PathValue, have)
			}
		}
	}
	return ""
}
