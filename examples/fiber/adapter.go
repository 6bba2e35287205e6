package main

// Fiber v2 runs on fasthttp, not net/http: its handlers see a *fiber.Ctx,
// never an *http.Request. The small adapter below runs authz's net/http
// middleware on a Fiber route. It is part of this example, not of authz:
// copy it into your code.
//
// Fiber's own adaptor.HTTPMiddleware is not used: it passes the context to
// Fiber by reflecting over the standard library's private context types,
// and the request it builds aliases fasthttp's buffers, which fasthttp
// reuses once the request ends.

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/seed31d61d31/authz/middleware"
)

// wrap adapts net/http middleware m (mw.Authenticate, mw.Require(...),
// mw.RequireOrganizationFromPath(...), ...) to Fiber:
//
//   - m sees an *http.Request copied from Fiber's request (method, URI,
//     headers, remote address), whose context is c.UserContext(), and
//     whose path values are Fiber's route parameters, so that
//     RequireOrganizationFromPath("orgID") reads Fiber's :orgID.
//   - When m passes the request on, its context, which carries the claims,
//     becomes c.UserContext(), and the chain goes on with c.Next(); later
//     handlers read the claims with authz.FromContext(c.UserContext()).
//   - When m refuses the request, it has written the 401/403 answer into
//     Fiber's response, and the chain stops.
func wrap(m func(http.Handler) http.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r, err := httpRequest(c)
		if err != nil {
			return fiber.ErrBadRequest
		}
		var passed *http.Request
		m(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { passed = r })).ServeHTTP(&responseWriter{c: c}, r)
		if passed == nil {
			return nil
		}
		c.SetUserContext(passed.Context())
		return c.Next()
	}
}

// refuse answers a failed check in a handler (authz.CheckOrganization, ...)
// exactly as the middleware would: mw.Error, on Fiber's response.
func refuse(c *fiber.Ctx, mw *middleware.Middleware, err error) error {
	r, rerr := httpRequest(c)
	if rerr != nil {
		return fiber.ErrBadRequest
	}
	mw.Error(&responseWriter{c: c}, r, err)
	return nil
}

// httpRequest copies what authz's middleware reads of Fiber's request into
// an *http.Request. Every string is copied: Fiber's and fasthttp's point
// into buffers that are reused after the request.
func httpRequest(c *fiber.Ctx) (*http.Request, error) {
	uri := string(c.Request().RequestURI())
	r, err := http.NewRequestWithContext(c.UserContext(), strings.Clone(c.Method()), uri, nil)
	if err != nil {
		return nil, err
	}
	r.RequestURI = uri
	r.Host = string(c.Request().Host())
	r.RemoteAddr = c.Context().RemoteAddr().String()
	c.Request().Header.VisitAll(func(k, v []byte) { r.Header.Add(string(k), string(v)) })
	for _, name := range c.Route().Params {
		r.SetPathValue(name, strings.Clone(c.Params(name)))
	}
	return r, nil
}

// responseWriter writes a net/http answer into Fiber's response.
type responseWriter struct {
	c      *fiber.Ctx
	header http.Header
	wrote  bool
}

func (w *responseWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *responseWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote = true
	for k, vs := range w.header {
		for _, v := range vs {
			w.c.Response().Header.Add(k, v)
		}
	}
	w.c.Status(status)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.c.Write(b)
}
