package middleware

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/seed31d61d31/authz"
)

// refusal is one refused request: the error, and what the default response
// and the log line need besides.
type refusal struct {
	err *authz.Error
	// scope is the scope attribute of a 403 challenge: the permissions the
	// route requires that fit a quoted string, space-separated; "" leaves
	// the attribute out. perms is all of them, for the JSON body.
	scope, perms string
	// claims are the validated claims, nil if no token validated.
	claims *authz.Claims
	// route is the policy pattern that matched, "" outside Enforce.
	route string
	// dpop reports a request that used the DPoP scheme (set by refuse).
	dpop bool
}

// refuse logs f and answers it, through the error handler if there is one.
// It is only ever called before next, so nothing has been written yet.
func (m *Middleware) refuse(w http.ResponseWriter, r *http.Request, f refusal) {
	f.dpop = m.usedDPoP(r)
	if f.dpop {
		m.offerNonce(w)
	}
	m.logRefusal(r, f)
	if m.onError != nil {
		m.onError(w, r, f.err)
		return
	}
	m.writeRefusal(w, f)
}

// body is the JSON body of a refusal.
type body struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	// Scope is the permissions of a 403, all of them: the challenge's
	// scope attribute leaves out those that do not fit a quoted string.
	Scope string `json:"scope,omitempty"`
}

// writeRefusal writes the RFC 6750 section 3 answer to f, as the outcome
// table of the authz package says ([authz.OutcomeOf]).
func (m *Middleware) writeRefusal(w http.ResponseWriter, f refusal) {
	o := authz.OutcomeOf(f.err)
	if o.ErrorCode == "" { // not a refusal of this module's
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	desc := sanitize(description(f.err))
	h := w.Header()
	b := body{Error: o.ErrorCode, Description: desc}
	switch {
	case o.HTTPStatus == http.StatusServiceUnavailable:
		// Not a verdict on the credentials: no challenge.
		h.Set("Retry-After", retryAfter)
	case o.Kind == authz.ErrMissingToken:
		// RFC 6750 section 3.1: no error code when the request has no
		// authentication information.
		for _, c := range m.challenges(false) {
			h.Add("WWW-Authenticate", c)
		}
	default:
		params := []string{`error="` + o.ErrorCode + `"`, `error_description="` + desc + `"`}
		if o.HTTPStatus == http.StatusForbidden {
			if f.scope != "" {
				params = append(params, `scope="`+f.scope+`"`)
			}
			b.Scope = f.perms
		}
		for _, c := range m.challenges(f.dpop, params...) {
			h.Add("WWW-Authenticate", c)
		}
	}
	out, err := json.Marshal(b)
	if err != nil {
		panic(err) // a struct of three strings always marshals
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(o.HTTPStatus)
	_, _ = w.Write(append(out, '\n'))
}

// challenge is a Bearer challenge (RFC 6750 section 3) with the realm, if
// any, then params, each already in name="value" form, then the
// resource_metadata attribute (RFC 9728 section 5.1), if any.
func (m *Middleware) challenge(params ...string) string {
	if m.realm != "" {
		params = append([]string{m.realm}, params...)
	}
	if m.resourceMetadata != "" {
		params = append(params, m.resourceMetadata)
	}
	if len(params) == 0 {
		return "Bearer"
	}
	return "Bearer " + strings.Join(params, ", ")
}

// description is the client-facing text of err: its Reason, or the text of
// its Kind without the "authz: " prefix.
func description(err *authz.Error) string {
	if err.Reason != "" {
		return err.Reason
	}
	if err.Kind == nil {
		return ""
	}
	return strings.TrimPrefix(err.Kind.Error(), "authz: ")
}

// logRefusal logs f at Debug (Warn for 503: see WithLogger) with the reason, the request's
// method, path and route, and the subject once known. Never the token, and
// never the query, which may hold one.
func (m *Middleware) logRefusal(r *http.Request, f refusal) {
	status := authz.OutcomeOf(f.err).HTTPStatus
	level := slog.LevelDebug
	if status == http.StatusServiceUnavailable {
		level = slog.LevelWarn
	}
	ctx := r.Context()
	if !m.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	reason := "authz: refused"
	if f.err.Kind != nil {
		reason = f.err.Kind.Error()
	}
	attrs = append(attrs,
		slog.Int("status", status),
		slog.String("reason", reason),
		slog.String("detail", f.err.Reason),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
	)
	if route := routeOf(r, f); route != "" {
		attrs = append(attrs, slog.String("route", route))
	}
	if len(f.err.Missing) > 0 {
		attrs = append(attrs, slog.String("missing", strings.Join(f.err.Missing, " ")))
	}
	if status == http.StatusServiceUnavailable {
		// The server's problem: the operator needs its cause (the issuer's
		// or the replay store's error), which the client never sees.
		for _, u := range f.err.Unwrap() {
			if u != f.err.Kind {
				attrs = append(attrs, slog.String("cause", u.Error()))
			}
		}
	}
	if f.claims != nil {
		attrs = append(attrs, slog.String("sub", f.claims.Subject))
		if f.claims.OrganizationID != "" {
			attrs = append(attrs, slog.String("organization_id", f.claims.OrganizationID))
		}
	}
	m.log.LogAttrs(ctx, level, "authz: request refused", attrs...)
}

// routeOf is the route of a refused request: the policy pattern in Enforce,
// or the pattern of the ServeMux route the middleware sits in.
func routeOf(r *http.Request, f refusal) string {
	if f.route != "" {
		return f.route
	}
	return r.Pattern
}

// allowedChar reports whether c may appear in a quoted-string attribute value
// of an RFC 6750 challenge: %x20-21 / %x23-5B / %x5D-7E (printable ASCII but
// '"' and '\').
func allowedChar(c byte) bool {
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'
}

// quotable reports whether every byte of s is an [allowedChar].
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if !allowedChar(s[i]) {
			return false
		}
	}
	return true
}

// sanitize makes s fit an error_description attribute (RFC 6750 section 3):
// a double quote becomes a single quote, a backslash a slash, and every
// other character outside printable ASCII (controls, non-ASCII, invalid
// UTF-8) a question mark. The token is never part of s.
func sanitize(s string) string {
	if quotable(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, c := range s {
		switch {
		case c == '"':
			b.WriteByte('\'')
		case c == '\\':
			b.WriteByte('/')
		case c < 0x20 || c > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// fitsScope reports whether permission p can be written in the scope
// attribute of a challenge: it is a scope-token of RFC 6749 section 3.3,
// one or more of %x21 / %x23-5B / %x5D-7E. Other permissions are left out
// of the attribute and given in the JSON body.
func fitsScope(p string) bool {
	return p != "" && quotable(p) && !strings.Contains(p, " ")
}

// Error answers a request that a handler refused by its own check, such as
// [authz.Check] in business logic, exactly as the middleware answers the
// refusals it makes itself: status, WWW-Authenticate challenge, JSON body,
// log line, or the [WithErrorHandler] hook. For [authz.ErrInsufficientScope]
// the challenge's scope attribute names the permissions the error lists as
// missing. An err that is not an [*authz.Error] is answered with a bare 500
// and its text is not shown. Call it before writing anything else.
func (m *Middleware) Error(w http.ResponseWriter, r *http.Request, err error) {
	var e *authz.Error
	if !errors.As(err, &e) {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	var scope []string
	if errors.Is(e.Kind, authz.ErrInsufficientScope) {
		for _, p := range e.Missing {
			if fitsScope(p) {
				scope = append(scope, p)
			}
		}
	}
	c, _ := authz.FromContext(r.Context())
	m.refuse(w, r, refusal{err: e, scope: strings.Join(scope, " "), perms: strings.Join(e.Missing, " "), claims: c})
}
