package middleware

import (
	"errors"
	"net/http"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/internal/bearer"
)

// Authenticate is middleware that requires a valid bearer token: any token
// the Middleware's validator accepts, of either kind, bound to an
// organization or not. It puts the token's [*authz.Claims] into the
// request context ([authz.NewContext]; read them with [authz.FromContext])
// and calls next. It authorizes nothing: the handler must check what the
// request may do, with [authz.Check], [authz.CheckOrganization] or
// [authz.Authorize]. A request without a valid token is refused in the same
// step, and next is not called: 401 without a token or with an invalid one,
// 400 for a malformed request, 503 while the issuer's keys cannot be
// loaded.
//
// If the context already holds claims that this Middleware's validator
// made (an outer middleware of the same validator ran), Authenticate calls
// next at once without validating again. Claims made by another validator
// are never reused: the token is validated again, and refused if this
// validator does not accept it.
func (m *Middleware) Authenticate(next http.Handler) http.Handler {
	// Authenticating and refusing are one step on purpose: a design that
	// splits them (a verifier that always calls next, and an authenticator
	// that refuses) fails open when the second is forgotten, as
	// go-chi/jwtauth users have found.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.isPreflight(r) {
			next.ServeHTTP(w, r)
			return
		}
		if _, r, ok := m.authenticate(w, r); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// AllowAnonymous is middleware for routes that serve anonymous clients too.
// A request with no bearer token at all (no Authorization header, or one
// with another scheme such as Basic) goes to next with no claims in its
// context, so [authz.FromContext] reports false. A request that presents a
// token is treated exactly as by [Middleware.Authenticate]: a valid token
// puts its claims in the context, and an invalid one is refused with 401,
// never downgraded to anonymous. A malformed request is refused with 400.
func (m *Middleware) AllowAnonymous(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := authz.FromContext(r.Context()); ok && c.ValidatedBy(m.v) {
			next.ServeHTTP(w, r)
			return
		}
		scheme, tok, err := m.credential(r)
		if err != nil {
			m.refuse(w, r, refusal{err: err})
			return
		}
		if tok == "" {
			next.ServeHTTP(w, r)
			return
		}
		c, err := m.validateScheme(r, scheme, tok)
		if err != nil {
			m.refuse(w, r, refusal{err: err})
			return
		}
		if scheme == bearer.DPoP {
			m.offerNonce(w)
		}
		next.ServeHTTP(w, r.WithContext(authz.NewContext(r.Context(), c)))
	})
}

// authenticate returns the claims of r: those already in its context if
// this Middleware's validator made them, else those of its bearer token,
// then with r's context carrying them. When it reports false it has
// answered the request.
func (m *Middleware) authenticate(w http.ResponseWriter, r *http.Request) (*authz.Claims, *http.Request, bool) {
	if c, ok := authz.FromContext(r.Context()); ok && c.ValidatedBy(m.v) {
		return c, r, true
	}
	c, err := m.tokenClaims(r)
	if err != nil {
		m.refuse(w, r, refusal{err: err})
		return nil, r, false
	}
	if m.usedDPoP(r) {
		m.offerNonce(w)
	}
	return c, r.WithContext(authz.NewContext(r.Context(), c)), true
}

// tokenClaims extracts r's token and validates it.
func (m *Middleware) tokenClaims(r *http.Request) (*authz.Claims, *authz.Error) {
	scheme, tok, err := m.credential(r)
	switch {
	case err != nil:
		return nil, err
	case tok == "":
		return nil, &authz.Error{Kind: authz.ErrMissingToken, Reason: "the request has no " + map[bool]string{true: "DPoP", false: "bearer"}[m.dpop == authz.DPoPRequired] + " token"}
	}
	return m.validateScheme(r, scheme, tok)
}

// validateScheme validates tok, presented with scheme.
func (m *Middleware) validateScheme(r *http.Request, scheme string, tok authz.Token) (*authz.Claims, *authz.Error) {
	switch {
	case scheme == bearer.DPoP:
		return m.validateDPoP(r, tok)
	case m.dpop == authz.DPoPRequired:
		return nil, &authz.Error{Kind: authz.ErrTokenType, Reason: "this API accepts only DPoP-bound tokens, sent with the DPoP scheme and a proof"}
	}
	return m.validate(r, tok)
}

// validate validates the bearer token tok with the request's context.
func (m *Middleware) validate(r *http.Request, tok authz.Token) (*authz.Claims, *authz.Error) {
	c, err := m.v.Validate(r.Context(), string(tok))
	if err == nil {
		return c, nil
	}
	return nil, demote(err)
}

// demote is a validation's error err as an [*authz.Error]. Validation
// reports token defects only, but should a Kind the middleware answers
// with 403 (or with a challenge without error) ever come from it, it is
// made [authz.ErrMalformed]: a token that does not validate is always
// answered with 401 invalid_token.
func demote(err error) *authz.Error {
	e := authz.AsError(err, authz.ErrMalformed)
	if errors.Is(e.Kind, authz.ErrOrganization) || errors.Is(e.Kind, authz.ErrInsufficientScope) || errors.Is(e.Kind, authz.ErrMissingToken) {
		e = &authz.Error{Kind: authz.ErrMalformed, Reason: e.Reason}
	}
	return e
}
