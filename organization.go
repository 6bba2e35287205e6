package authz

import (
	"fmt"
	"slices"
	"strings"
)

// organizationPrefix starts the audience of a Logto organization token.
const organizationPrefix = "urn:logto:organization:"

// AnyOrganization, given to [New] as an audience, accepts an organization
// token for any organization; its id is in [Claims.OrganizationID]. Check it
// against the organization the request names (see [Claims.CheckOrganization]).
const AnyOrganization = organizationPrefix + "*"

// OrganizationAudience returns the audience of a Logto organization token for
// the organization id: "urn:logto:organization:<id>". Given to [New] it
// accepts organization tokens for that one organization.
func OrganizationAudience(id string) string {
	return organizationPrefix + id
}

// validOrgID reports whether id can be an organization id: 1 to 128
// printable ASCII characters, no space, no "*".
func validOrgID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '*' {
			return false
		}
	}
	return true
}

// audience is rule 7: the token's "aud" must name a configured audience. It
// returns the organization id when an organization audience matched.
//
// A token is for an API or for an organization, never both: an "aud" that
// names an accepted API audience and any organization is refused, so that
// the kind of every token is plain (its two kinds of permissions come from
// separate namespaces).
//
// apis, when not nil, are the API audiences of the token's issuer (a
// resolved issuer's own, [IssuerTrust].Audiences), which replace the
// validator's API audiences; organization audiences are always the
// validator's.
func (v *Validator) audience(aud []string, apis []string) (orgID string, orgAud bool, err error) {
	apiMatched, namesOrg := false, false
	for i, a := range aud {
		id, isOrg := strings.CutPrefix(a, organizationPrefix)
		switch {
		case isOrg && !validOrgID(id):
			continue
		case isOrg:
			namesOrg = true
			if !v.anyOrg && !v.hasAudience(a) {
				continue
			}
			if orgAud && id != orgID {
				return "", false, newError(ErrAudience, "token names more than one organization")
			}
			orgID, orgAud = id, true
		case apis != nil:
			if j := slices.Index(apis, a); j >= 0 {
				aud[i] = apis[j] // one copy of the string for every token
				apiMatched = true
			}
		case v.hasAudience(a):
			aud[i] = v.configuredAudience(a) // one copy of the string for every token
			apiMatched = true
		}
	}
	switch {
	case apiMatched && namesOrg:
		return "", false, newError(ErrAudience, "token names both an API resource and an organization in \"aud\"; a token is for one or the other")
	case apiMatched || orgAud:
		return orgID, orgAud, nil
	}
	if len(aud) == 0 {
		return "", false, newError(ErrAudience, `token has no "aud"`)
	}
	return "", false, newError(ErrAudience, v.audienceHint(aud, apis))
}

// configuredAudience returns the configured string equal to a.
func (v *Validator) configuredAudience(a string) string {
	for _, want := range v.audiences {
		if a == want {
			return want
		}
	}
	return a
}

func (v *Validator) hasAudience(a string) bool {
	for _, want := range v.audiences {
		if a == want {
			return true
		}
	}
	return false
}

// audienceHint explains the two common mix-ups: an organization token sent to
// an API, and an API token sent to an organization route.
func (v *Validator) audienceHint(aud []string, apis []string) string {
	for _, a := range aud {
		if strings.HasPrefix(a, organizationPrefix) {
			return "token is an organization token, not an access token for this API"
		}
	}
	if !v.acceptsAPI {
		return "token is an access token for an API resource, not an organization token"
	}
	this := v.apiAudiences
	if apis != nil {
		this = strings.Join(apis, ", ")
	}
	return fmt.Sprintf(`token is not for this API: its "aud" is %s; this API is %s`, quoteList(aud), this)
}

// quoteList quotes values taken from an unverified token for an error
// message: at most three, each as quoteSafe does.
func quoteList(values []string) string {
	const most = 3
	quoted := make([]string, 0, min(len(values), most))
	for _, s := range values[:min(len(values), most)] {
		quoted = append(quoted, quoteSafe(s))
	}
	out := strings.Join(quoted, ", ")
	if len(values) > most {
		out += fmt.Sprintf(" and %d more", len(values)-most)
	}
	return out
}

// CheckOrganization returns nil if the token is bound to the organization
// orgID and grants every one of perms. It returns an error matching
// [ErrOrganization] when the token is for another organization or for none,
// whatever its scopes, and one matching [ErrInsufficientScope] when a
// permission is missing. A Logto token for an API requested without an
// organization carries the scopes of all of the user's organizations, so an
// operation inside an organization must make this check, not just a scope
// check.
//
// The token must be of the kind the validator that made c accepts: an
// organization-level API token for a validator of API audiences, an
// organization token for a validator of organizations. For a validator
// that accepts both, say which with [Requirement.Check] (Token set);
// CheckOrganization then fails closed with an error that is not an
// [*Error].
func (c *Claims) CheckOrganization(orgID string, perms ...string) error {
	return Requirement{AllOf: perms, Organization: OrganizationFromRequest}.Check(c, orgID)
}
