package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// organizationPrefix starts the audience of a Logto organization token.
const organizationPrefix = "urn:logto:organization:"

// tokenKind is what kind of Logto access token a token is, by the rules of
// authz.Claims: an organization audience makes an organization token; an
// "organization_id" claim on an API token makes an organization-level API
// token; "sub" equal to "client_id" makes it machine-to-machine.
type tokenKind struct {
	organizationToken bool // aud is urn:logto:organization:<id>
	organizationLevel bool // an API token with "organization_id"
	machine           bool // sub == client_id
}

func (k tokenKind) String() string {
	name := "API resource token"
	switch {
	case k.organizationToken:
		name = "organization token"
	case k.organizationLevel:
		name = "organization-level API token"
	}
	if k.machine {
		name = "machine-to-machine " + name
	}
	return name
}

// explain says in words how the kind was told.
func (k tokenKind) explain() string {
	var why string
	switch {
	case k.organizationToken:
		why = `"aud" is ` + organizationPrefix + `<id>`
	case k.organizationLevel:
		why = `"aud" is an API resource, with "organization_id"`
	default:
		why = `"aud" is an API resource, no organization`
	}
	if k.machine {
		why += `; "sub" equals "client_id"`
	}
	return why
}

// relative says when t is relative to now, in words: "in 42m", "3h ago",
// or "now". Durations are rounded to the second.
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d == 0:
		return "now"
	case d > 0:
		return "in " + human(d)
	default:
		return human(-d) + " ago"
	}
}

// human writes a positive duration coarsely, in its two largest units:
// "45s", "42m", "3h", "3h12m", "2d", "2d5h".
func human(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < day:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	default:
		days, h := int(d/day), int(d%day/time.Hour)
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h)
	}
}

// expiry describes "exp": "expires in 42m" or "expired 3h ago".
func expiry(exp, now time.Time) string {
	if exp.After(now) {
		return "expires " + relative(exp, now)
	}
	if r := relative(exp, now); r != "now" {
		return "expired " + r
	}
	return "expired just now"
}

// issued describes "iat": "issued 5m ago", or a warning if in the future.
func issued(iat, now time.Time) string {
	r := relative(iat, now)
	switch {
	case r == "now":
		return "issued just now"
	case iat.After(now):
		return "issued " + r + " (in the future: check the clocks)"
	default:
		return "issued " + r
	}
}

// notBefore describes "nbf".
func notBefore(nbf, now time.Time) string {
	if nbf.After(now) {
		return "NOT YET VALID: valid " + relative(nbf, now)
	}
	return "valid since " + relative(nbf, now)
}

// timestamp formats a time for the summaries: UTC, to the second.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// safe returns s for printing on a terminal: as is when every rune is
// printable, quoted (with escapes) otherwise, so a token cannot move the
// cursor or recolor the terminal. Long values are shortened.
func safe(s string) string {
	const limit = 200
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.Is(unicode.Bidi_Control, r) {
			return strconv.QuoteToASCII(s)
		}
	}
	return s
}

// safeList is safe for each element, joined by spaces.
func safeList(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = safe(s)
	}
	return strings.Join(out, " ")
}
