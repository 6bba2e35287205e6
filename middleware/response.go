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
	// route requires, space-separated; "" leaves the attribute out.
	scope string
	// claims are the validated claims, nil if no token validated.
	claims *authz.Claims
	// route is the policy pattern that matched, "" outside Enforce.
	route string
}

// refuse logs f and answers it, through the error handler if there is one.
// It is only ever called before next, so nothing has been written yet.
func (m *Middleware) refuse(w http.ResponseWriter, r *http.Request, f refusal) {
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
}

// writeRefusal writes the RFC 6750 section 3 answer to f.
func (m *Middleware) writeRefusal(w http.ResponseWriter, f refusal) {
	status := StatusCode(f.err)
	desc := sanitize(description(f.err))
	h := w.Header()
	var code string
	switch {
	case status == http.StatusServiceUnavailable:
		// Not a verdict on the credentials: no challenge (DESIGN.md).
		code = "temporarily_unavailable"
		h.Set("Retry-After", retryAfter)
	case errors.Is(f.err.Kind, authz.ErrMissingToken):
		// RFC 6750 section 3.1: no error code when the request has no
		// authentication information.
		code = "unauthorized"
		h.Set("WWW-Authenticate", m.challenge())
	default:
		switch status {
		case http.StatusBadRequest:
			code = "invalid_request"
		case http.StatusForbidden:
			code = "insufficient_scope"
		default:
			code = "invalid_token"
		}
		params := []string{`error="` + code + `"`, `error_description="` + desc + `"`}
		if status == http.StatusForbidden && f.scope != "" {
			params = append(params, `scope="`+f.scope+`"`)
		}
		h.Set("WWW-Authenticate", m.challenge(params...))
	}
	b, err := json.Marshal(body{Error: code, Description: desc})
	if err != nil { // cannot happen: two strings
		b = []byte(`{"error":"` + code + `"}`)
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
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

// logRefusal logs f at Info (Warn for 503) with the reason, the request's
// method, path and route, and the subject once known. Never the token, and
// never the query, which may hold one.
func (m *Middleware) logRefusal(r *http.Request, f refusal) {
	status := StatusCode(f.err)
	level := slog.LevelInfo
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

// validScope reports whether p is a scope-token (RFC 6749 section 3.3):
// one or more of %x21 / %x23-5B / %x5D-7E.
func validScope(p string) bool {
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
			if validScope(p) {
				scope = append(scope, p)
			}
		}
	}
	c, _ := authz.FromContext(r.Context())
	m.refuse(w, r, refusal{err: e, scope: strings.Join(scope, " "), claims: c})
}
