package middleware

import (
	"mime"
	"net/http"
	"net/url"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/internal/bearer"
)

// tokenParam is the name of the query parameter and form field of RFC 6750
// sections 2.2 and 2.3.
const tokenParam = "access_token"

// credential finds the one token r carries (RFC 6750 section 2, RFC 9449
// section 7.1), and its scheme: [bearer.DPoP] for an Authorization header
// with the DPoP scheme, when WithDPoP accepts it, and [bearer.Bearer]
// otherwise; only the Authorization header can carry a DPoP token. It
// returns "" and nil when r carries no token at all (no Authorization
// header, or one with another scheme such as Basic), and an error of kind
// [authz.ErrInvalidRequest] when r is malformed: more than one token, or a
// token where this Middleware does not accept one. The token is never part
// of an error.
func (m *Middleware) credential(r *http.Request) (scheme string, tok authz.Token, err *authz.Error) {
	scheme, tok, err = m.headerToken(r.Header)
	if err != nil {
		return "", "", err
	}
	// A token anywhere else is a second credential, whatever the header's
	// scheme; only the header can carry a DPoP one.
	if scheme == "" {
		scheme = bearer.Bearer
	}
	if r.URL != nil && r.URL.RawQuery != "" {
		// Errors are ignored as net/http's own URL.Query does: a pair that
		// does not parse (a bare ';') is left out, the others are kept.
		q, _ := url.ParseQuery(r.URL.RawQuery)
		if vals, ok := q[tokenParam]; ok {
			if !m.allowQuery {
				return "", "", invalidRequest("the access token is in the URI query, which this API does not accept; send it in the Authorization header")
			}
			if tok, err = addToken(tok, vals, "the access_token query parameter"); err != nil {
				return "", "", err
			}
		}
	}
	if m.cookie != "" {
		if cookies := r.CookiesNamed(m.cookie); len(cookies) > 0 {
			vals := make([]string, len(cookies))
			for i, c := range cookies {
				vals[i] = c.Value
			}
			if tok, err = addToken(tok, vals, "the "+m.cookie+" cookie"); err != nil {
				return "", "", err
			}
		}
	}
	if m.allowForm && isFormPost(r) {
		if r.ParseForm() != nil {
			return "", "", invalidRequest("the request body is not a valid application/x-www-form-urlencoded form")
		}
		if vals, ok := r.PostForm[tokenParam]; ok {
			if tok, err = addToken(tok, vals, "the access_token form field"); err != nil {
				return "", "", err
			}
		}
	}
	return scheme, tok, nil
}

// headerToken parses the Authorization header (RFC 6750 section 2.1; see
// [bearer.ParseScheme]): a scheme m accepts ("Bearer", and "DPoP" with
// WithDPoP), in any case, one or more spaces, then exactly one token.
// Another scheme (Basic, ...) means no token.
func (m *Middleware) headerToken(h http.Header) (string, authz.Token, *authz.Error) {
	scheme, tok, err := bearer.ParseScheme(h.Values("Authorization"), "the Authorization header", m.schemes()...)
	if err != nil {
		return "", "", invalidRequest(err.Reason)
	}
	return scheme, authz.Token(tok), nil
}

// addToken adds the token given in vals by another method to tok, the token
// found so far. RFC 6750 section 2: a client must not use more than one
// method, nor repeat the parameter.
func addToken(tok authz.Token, vals []string, method string) (authz.Token, *authz.Error) {
	switch {
	case tok != "":
		return "", invalidRequest("the request carries more than one access token (RFC 6750 allows one method per request)")
	case len(vals) != 1:
		return "", invalidRequest(method + " is repeated")
	case vals[0] == "":
		return "", invalidRequest(method + " is empty")
	}
	return authz.Token(vals[0]), nil
}

// isFormPost reports whether r is a POST with an
// application/x-www-form-urlencoded body (RFC 6750 section 2.2).
func isFormPost(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && ct == "application/x-www-form-urlencoded"
}

// isPreflight reports whether r is a CORS preflight that AllowPreflight
// lets through: OPTIONS, with Origin and Access-Control-Request-Method, and
// no credentials (no Authorization header, no token cookie).
func (m *Middleware) isPreflight(r *http.Request) bool {
	if !m.preflight || r.Method != http.MethodOptions || r.Header.Get("Origin") == "" ||
		r.Header.Get("Access-Control-Request-Method") == "" || len(r.Header.Values("Authorization")) > 0 {
		return false
	}
	return m.cookie == "" || len(r.CookiesNamed(m.cookie)) == 0
}
