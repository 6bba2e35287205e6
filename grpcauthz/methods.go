package grpcauthz

import (
	"errors"
	"fmt"
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

// Rule is the requirement for the calls of one method (or service). The
// zero value of every field means "not required": the zero Rule admits any
// call with a valid token (an API protected without RBAC). It is the gRPC
// counterpart of [authz.Rule] and is enforced by it.
type Rule struct {
	// AllOf lists permissions that are all required. Empty: none.
	AllOf []string
	// AnyOf lists permissions of which at least one is required. Empty:
	// none. When both AllOf and AnyOf are set, both must hold.
	AnyOf []string
	// OrganizationKey, when not empty, makes the method act inside an
	// organization: the call names it in the metadata under this key (for
	// example "x-organization-id"), and the token must be for that very
	// organization (see [authz.Claims.CheckOrganization]). Metadata keys
	// are case-insensitive; the key must be a valid one (letters, digits,
	// '-', '_', '.'), not a binary ("-bin") or reserved ("grpc-") key, and
	// not "authorization". Empty: no organization is checked.
	OrganizationKey string
	// Public admits calls with no token at all: the interceptors call the
	// handler without looking at the metadata, and put no claims in the
	// context. It cannot be combined with AllOf, AnyOf or
	// OrganizationKey. Default false: a valid token is required.
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
	if r.OrganizationKey != "" {
		parts = append(parts, fmt.Sprintf("organization from metadata %q", r.OrganizationKey))
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

// methodRule is a checked Rule, ready for calls.
type methodRule struct {
	// name is the key of Methods it came from, for logs.
	name string
	rule authz.Rule
	// public is true when the rule needs no token.
	public bool
	// orgKey is the lower-cased organization metadata key, or "".
	orgKey string
}

// compile checks methods and returns its rules by key. Keys are checked in
// sorted order, so the error names the same entry every time.
func compile(methods Methods) (map[string]*methodRule, error) {
	if len(methods) == 0 {
		return nil, errors.New("grpcauthz: no methods: every call would be refused")
	}
	names := make([]string, 0, len(methods))
	for name := range methods {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make(map[string]*methodRule, len(methods))
	for _, name := range names {
		r := methods[name]
		fail := func(format string, args ...any) error {
			return fmt.Errorf("grpcauthz: method %q: %s", name, fmt.Sprintf(format, args...))
		}
		if reason := checkMethodName(name); reason != "" {
			return nil, fail("%s", reason)
		}
		mr := &methodRule{
			name:   name,
			public: r.Public,
			rule: authz.Rule{
				// Authorize does not read the pattern; NewPolicy below needs
				// a valid one to check the rest of the rule.
				Pattern: "/",
				AllOf:   slices.Clone(r.AllOf),
				AnyOf:   slices.Clone(r.AnyOf),
				Public:  r.Public,
			},
		}
		if r.OrganizationKey != "" {
			key := strings.ToLower(r.OrganizationKey)
			if reason := checkMetadataKey(key); reason != "" {
				return nil, fail("organization key %q %s", r.OrganizationKey, reason)
			}
			mr.orgKey = key
			mr.rule.Organization = &authz.OrgSource{Header: key}
		}
		// The root package's checks, so that a rule means the same in both:
		// permissions that a "scope" can grant, a public rule that requires
		// nothing else.
		if _, err := authz.NewPolicy(mr.rule); err != nil {
			var pe *authz.PolicyError
			if errors.As(err, &pe) {
				return nil, fail("%s", pe.Reason)
			}
			return nil, fail("%v", err)
		}
		out[name] = mr
	}
	return out, nil
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
