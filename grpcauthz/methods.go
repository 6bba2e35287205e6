package grpcauthz

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/seed31d61d31/authz"
)

// Methods maps gRPC methods to the [Rule] their calls must satisfy. A key
// is a full method name, "/package.Service/Method", or "/package.Service/*"
// for every method of the service that has no key of its own. Calls to
// methods no key matches are refused. [New] copies the map: later changes to
// it do not affect the [Interceptor].
type Methods map[string]Rule

// Rule is the requirement for the calls of one method (or service), the
// gRPC counterpart of an [authz.Rule]; [New] compiles it to the
// transport-neutral [authz.Requirement] that the HTTP middleware checks
// too. The zero value of every field means "not required": the zero Rule
// admits any call with a valid API token that is not bound to an
// organization (an API protected without RBAC).
type Rule struct {
	// Token is the kind of token accepted ([authz.Requirement.Token]).
	// Zero: an API token for a method with no organization; for an
	// organization method, the one kind the validator accepts ([New] fails
	// for a validator that accepts both).
	Token authz.TokenKind
	// AllOf lists permissions that are all required. Empty: none.
	AllOf []string
	// AnyOf lists permissions of which at least one is required. Empty:
	// none. When both AllOf and AnyOf are set, both must hold.
	AnyOf []string
	// OrganizationKey, when not empty, makes the method act inside the
	// organization the call names in the metadata under this key (for
	// example "x-organization-id"): the token must be bound to that very
	// organization ([authz.OrganizationFromRequest]). Metadata keys are
	// case-insensitive; the key must be a valid one (letters, digits, '-',
	// '_', '.'), not a binary ("-bin") or reserved ("grpc-") key, and not
	// "authorization".
	OrganizationKey string
	// OrganizationFromToken makes the method act inside whatever
	// organization the token is bound to ([authz.OrganizationFromToken]):
	// the handler scopes its work by [authz.Claims.OrganizationID]. It
	// cannot be combined with OrganizationKey. With neither, the method is
	// global and a token bound to an organization is refused.
	OrganizationFromToken bool
	// Public admits calls with no token at all: the interceptors call the
	// handler without looking at the metadata, and put no claims in the
	// context. It cannot be combined with any other field. Default false:
	// a valid token is required.
	Public bool
}

// String returns the rule as one human-readable line, for start-up logs:
// "public", "any valid token", or e.g.
// `organization from metadata "x-organization-id"; all of read:members`.
func (r Rule) String() string {
	var parts []string
	if r.Public {
		parts = append(parts, "public")
	}
	if r.Token != 0 {
		parts = append(parts, r.Token.String()+"s")
	}
	if r.OrganizationKey != "" {
		parts = append(parts, fmt.Sprintf("organization from metadata %q", r.OrganizationKey))
	}
	if r.OrganizationFromToken {
		parts = append(parts, "organization from the token")
	}
	if len(r.AllOf) > 0 {
		parts = append(parts, "all of "+strings.Join(r.AllOf, ", "))
	}
	if len(r.AnyOf) > 0 {
		parts = append(parts, "any of "+strings.Join(r.AnyOf, ", "))
	}
	if len(parts) == 0 {
		return "any valid token"
	}
	return strings.Join(parts, "; ")
}

// methodRule is a checked Rule, ready for calls: its requirement resolved
// against the validator.
type methodRule struct {
	authz.Requirement
	// name is the key of Methods it came from, for logs.
	name string
	// public is true when the rule needs no token.
	public bool
	// orgKey is the lower-cased organization metadata key, or "".
	orgKey string
}

// compile checks methods against v and returns its rules by key. Keys are
// checked in sorted order, so the error names the same entry every time.
func compile(v *authz.Validator, methods Methods) (map[string]*methodRule, error) {
	if len(methods) == 0 {
		return nil, errors.New("grpcauthz: no methods: every call would be refused")
	}
	names := slices.Sorted(maps.Keys(methods))
	out := make(map[string]*methodRule, len(methods))
	for _, name := range names {
		mr, reason := compileRule(v, methods[name])
		if reason == "" {
			reason = checkMethodName(name)
		}
		if reason != "" {
			return nil, fmt.Errorf("grpcauthz: method %q: %s", name, reason)
		}
		mr.name = name
		out[name] = mr
	}
	return out, nil
}

// compileRule checks r against v, or explains why it is wrong.
func compileRule(v *authz.Validator, r Rule) (*methodRule, string) {
	if r.Public {
		if r.Token != 0 || len(r.AllOf) > 0 || len(r.AnyOf) > 0 || r.OrganizationKey != "" || r.OrganizationFromToken {
			return nil, "a public rule needs no token, yet it also requires something"
		}
		return &methodRule{public: true}, ""
	}
	req := authz.Requirement{Token: r.Token, AllOf: r.AllOf, AnyOf: r.AnyOf}
	mr := &methodRule{}
	switch {
	case r.OrganizationKey != "" && r.OrganizationFromToken:
		return nil, "OrganizationKey and OrganizationFromToken are both set; set one"
	case r.OrganizationKey != "":
		key := strings.ToLower(r.OrganizationKey)
		if reason := checkMetadataKey(key); reason != "" {
			return nil, fmt.Sprintf("organization key %q %s", r.OrganizationKey, reason)
		}
		mr.orgKey = key
		req.Organization = authz.OrganizationFromRequest
	case r.OrganizationFromToken:
		req.Organization = authz.OrganizationFromToken
	}
	resolved, err := v.Resolve(req)
	if err != nil {
		return nil, err.Error()
	}
	mr.Requirement = resolved
	return mr, ""
}

// checkMethodName explains why name is not "/service/method" or
// "/service/*", or returns "".
func checkMethodName(name string) string {
	const want = `want "/package.Service/Method" or "/package.Service/*"`
	rest, ok := strings.CutPrefix(name, "/")
	if !ok {
		return "does not start with '/': " + want
	}
	service, method, ok := strings.Cut(rest, "/")
	switch {
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "has whitespace or a control character"
	case !ok || service == "" || method == "":
		return "names no service or no method: " + want
	case strings.Contains(method, "/"):
		return "has more than two parts: " + want
	case strings.Contains(service, "*"):
		return `has "*" in the service name: only the whole method may be "*"`
	case method != "*" && strings.Contains(method, "*"):
		return `has "*" in the method name: only the whole method may be "*"`
	}
	return ""
}

// checkMetadataKey explains why key, lower-cased, cannot carry an
// organization id, or returns "".
func checkMetadataKey(key string) string {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "is not a valid metadata key (letters, digits, '-', '_' and '.')"
		}
	}
	switch {
	case strings.HasPrefix(key, "grpc-"):
		return `is reserved: keys starting with "grpc-" belong to gRPC`
	case strings.HasSuffix(key, "-bin"):
		return `is a binary key ("-bin"): an organization id is text`
	case key == "authorization":
		return "is the key of the token"
	}
	return ""
}

// lookup returns the rule for the full method name fullMethod: its own, or
// its service's "/package.Service/*" rule, or nil.
func (i *Interceptor) lookup(fullMethod string) *methodRule {
	if r, ok := i.methods[fullMethod]; ok {
		return r
	}
	if j := strings.LastIndexByte(fullMethod, '/'); j > 0 {
		return i.methods[fullMethod[:j+1]+"*"]
	}
	return nil
}
