package middleware_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/middleware"
)

// TestBearerToken covers the token extraction of RFC 6750 section 2: where
// a token may be, and which requests are malformed.
func TestBearerToken(t *testing.T) {
	e := newEnv(t, false)
	tok := must(t)(e.iss.APIToken(api))
	strict := serve(t, e.middleware(t, e.apiV).Authenticate(echo))
	query := serve(t, e.middleware(t, e.apiV, middleware.AllowQueryToken()).Authenticate(echo))
	form := serve(t, e.middleware(t, e.apiV, middleware.AllowFormToken()).Authenticate(echo))
	both := serve(t, e.middleware(t, e.apiV, middleware.AllowQueryToken(), middleware.AllowFormToken()).Authenticate(echo))
	formBody := url.Values{"access_token": {tok}}.Encode()

	authorization := func(values ...string) func(http.Header) {
		return func(h http.Header) {
			for _, v := range values {
				h.Add("Authorization", v)
			}
		}
	}
	tests := []struct {
		name        string
		server      string // strict, query, form or both
		method      string
		target      string // path and query
		header      func(http.Header)
		contentType string
		body        string
		want        want
	}{
		{name: "single space", header: authorization("Bearer " + tok), want: allowed("test-user", "")},
		{name: "extra spaces after the scheme", header: authorization("Bearer    " + tok), want: allowed("test-user", "")},
		{name: "lowercase scheme", header: authorization("bearer " + tok), want: allowed("test-user", "")},
		{name: "uppercase scheme", header: authorization("BEARER " + tok), want: allowed("test-user", "")},
		{name: "Basic scheme is no bearer token", header: authorization("Basic dXNlcjpwYXNzd29yZA=="), want: noToken()},
		{name: "DPoP scheme is no bearer token", header: authorization("DPoP " + tok), want: noToken()},
		{name: "scheme glued to the token", header: authorization("Bearer" + tok), want: noToken()},
		{name: "empty token", header: authorization("Bearer "), want: invalidRequest("the Authorization header has the Bearer scheme but no token")},
		{name: "Bearer alone", header: authorization("Bearer"), want: invalidRequest("the Authorization header has the Bearer scheme but no token")},
		{name: "empty Authorization header", header: authorization(""), want: invalidRequest("the Authorization header is empty")},
		{name: "tab after the scheme", header: authorization("Bearer\t" + tok), want: invalidRequest("the Authorization header must hold exactly one bearer token")},
		{name: "two tokens in one header", header: authorization("Bearer " + tok + " " + tok), want: invalidRequest("the Authorization header must hold exactly one bearer token")},
		{name: "comma-joined credentials", header: authorization("Bearer " + tok + ", Bearer " + tok), want: invalidRequest("the Authorization header must hold exactly one bearer token")},
		{name: "comma-joined without space", header: authorization("Bearer " + tok + "," + tok), want: invalidRequest("the Authorization header must hold exactly one bearer token")},
		{name: "two Authorization headers", header: authorization("Bearer "+tok, "Bearer "+tok), want: invalidRequest("the Authorization header is given more than once")},
		{name: "Basic and Bearer headers", header: authorization("Basic dXNlcjpwYXNzd29yZA==", "Bearer "+tok), want: invalidRequest("the Authorization header is given more than once")},
		{name: "garbage token", header: authorization("Bearer a.b.c"), want: invalidToken("header is not base64url")},

		{name: "query token when not allowed", target: "/?access_token=" + tok, want: invalidRequest("the access token is in the URI query, which this API does not accept; send it in the Authorization header")},
		{name: "empty query token when not allowed", target: "/?access_token=", want: invalidRequest("the access token is in the URI query, which this API does not accept; send it in the Authorization header")},
		{name: "header and query token when not allowed", target: "/?access_token=" + tok, header: authorization("Bearer " + tok), want: invalidRequest("the access token is in the URI query, which this API does not accept; send it in the Authorization header")},
		{name: "query token when allowed", server: "query", target: "/?a=1&access_token=" + tok, want: allowed("test-user", "")},
		{name: "query token and Basic header", server: "query", target: "/?access_token=" + tok, header: authorization("Basic dXNlcjpwYXNzd29yZA=="), want: allowed("test-user", "")},
		{name: "header and query token", server: "query", target: "/?access_token=" + tok, header: authorization("Bearer " + tok), want: invalidRequest("the request carries more than one access token (RFC 6750 allows one method per request)")},
		{name: "query token twice", server: "query", target: "/?access_token=" + tok + "&access_token=" + tok, want: invalidRequest("the access_token query parameter is repeated")},
		{name: "empty query token", server: "query", target: "/?access_token=", want: invalidRequest("the access_token query parameter is empty")},
		{name: "other query parameters only", server: "query", target: "/?q=access", want: noToken()},

		{name: "form token when allowed", server: "form", method: "POST", contentType: "application/x-www-form-urlencoded", body: formBody, want: allowed("test-user", "")},
		{name: "form token with charset", server: "form", method: "POST", contentType: "application/x-www-form-urlencoded; charset=utf-8", body: formBody, want: allowed("test-user", "")},
		{name: "form token when not allowed is not read", method: "POST", contentType: "application/x-www-form-urlencoded", body: formBody, want: noToken()},
		{name: "form token in a JSON body", server: "form", method: "POST", contentType: "application/json", body: `{"access_token":"` + tok + `"}`, want: noToken()},
		{name: "form token in a PUT body", server: "form", method: "PUT", contentType: "application/x-www-form-urlencoded", body: formBody, want: noToken()},
		{name: "header and form token", server: "form", method: "POST", header: authorization("Bearer " + tok), contentType: "application/x-www-form-urlencoded", body: formBody, want: invalidRequest("the request carries more than one access token (RFC 6750 allows one method per request)")},
		{name: "query and form token", server: "both", method: "POST", target: "/?access_token=" + tok, contentType: "application/x-www-form-urlencoded", body: formBody, want: invalidRequest("the request carries more than one access token (RFC 6750 allows one method per request)")},
		{name: "form token twice", server: "form", method: "POST", contentType: "application/x-www-form-urlencoded", body: formBody + "&" + formBody, want: invalidRequest("the access_token form field is repeated")},
		{name: "invalid form body", server: "form", method: "POST", contentType: "application/x-www-form-urlencoded", body: "access_token=%zz", want: invalidRequest("the request body is not a valid application/x-www-form-urlencoded form")},
	}
	servers := map[string]string{"": strict.URL, "query": query.URL, "form": form.URL, "both": both.URL}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, target := tt.method, tt.target
			if method == "" {
				method = http.MethodGet
			}
			if target == "" {
				target = "/"
			}
			req, err := http.NewRequest(method, servers[tt.server]+target, strings.NewReader(tt.body))
			require.NoError(t, err)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.header != nil {
				tt.header(req.Header)
			}
			check(t, strict, req, tt.want)
		})
	}
}
