package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
)

// Event reports one fetch of the key set, successful or not.
type Event struct {
	Issuer  string
	URL     string   // the JWKS URL; "" if discovery failed
	Err     error    // nil on success; the previous keys are kept on failure
	Added   []string // kids that joined the set
	Removed []string // kids that left it
	Keys    int      // kids in the set after the fetch
	Initial bool     // the first successful fetch
}

// fetch loads the set once, swaps it in if it holds at least one usable key,
// logs what happened and reports it to OnRefresh. It returns how long the
// response may be used before the next fetch.
func (s *Set) fetch() (time.Duration, error) {
	next, ev := s.load()
	if ev.Err != nil && s.closed() {
		return 0, ev.Err // Close ended the fetch: nothing failed
	}
	log := s.opts.Logger.With("issuer", s.opts.Issuer)
	switch {
	case ev.Err != nil && !s.Loaded():
		log.Warn("authz: JWKS fetch failed; no keys yet", "url", ev.URL, "error", ev.Err)
	case ev.Err != nil:
		log.Warn("authz: JWKS fetch failed; keeping the previous keys", "url", ev.URL, "error", ev.Err)
	case ev.Initial:
		log.Debug("authz: JWKS loaded", "url", ev.URL, "keys", ev.Added)
	case len(ev.Added) > 0 || len(ev.Removed) > 0:
		log.Info("authz: JWKS keys changed", "added", ev.Added, "removed", ev.Removed, "keys", ev.Keys)
	}
	if s.opts.OnRefresh != nil {
		s.opts.OnRefresh(ev)
	}
	return next, ev.Err
}

// load does the work of fetch.
func (s *Set) load() (time.Duration, Event) {
	ev := Event{Issuer: s.opts.Issuer, Keys: len(s.keys.Load().byKID)}
	ctx, cancel := s.fetchContext()
	defer cancel()
	if s.url == "" {
		u, err := s.discover(ctx)
		if err != nil {
			ev.Err = fmt.Errorf("OIDC discovery: %w", err)
			return 0, ev
		}
		s.url = u
	}
	ev.URL = s.url
	body, header, err := s.get(ctx, s.url)
	if err != nil {
		ev.Err = err
		return 0, ev
	}
	var raw jwkset.JWKSMarshal
	if err := json.Unmarshal(body, &raw); err != nil {
		ev.Err = fmt.Errorf("JWKS is not a JSON key set: %w", err)
		return 0, ev
	}
	keys := make(map[string]jwkset.JWK, len(raw.Keys))
	for i, m := range raw.Keys {
		jwk, err := usable(m)
		if err == nil {
			if _, dup := keys[m.KID]; dup {
				err = errors.New("duplicate kid")
			}
		}
		if err != nil {
			s.opts.Logger.Warn("authz: JWKS key skipped", "issuer", s.opts.Issuer, "index", i, "kid", m.KID, "reason", err)
			continue
		}
		keys[m.KID] = jwk
	}
	if len(keys) == 0 {
		ev.Err = errors.New("JWKS has no usable signing key")
		return 0, ev
	}
	old := s.keys.Load().byKID
	ev.Initial = old == nil
	// A key replaced under its kid (other key material, or another "alg")
	// counts as removed, and its successor as added: tokens of the old key
	// must stop validating, from the cache too.
	for kid, jwk := range keys {
		if prev, ok := old[kid]; !ok || !sameKey(prev, jwk) {
			ev.Added = append(ev.Added, kid)
		}
	}
	for kid, prev := range old {
		if jwk, ok := keys[kid]; !ok || !sameKey(prev, jwk) {
			ev.Removed = append(ev.Removed, kid)
		}
	}
	// Swap, then bump the epoch. A verification reads the epoch before it
	// looks up its key: if it read the new epoch, its lookup came after the
	// swap and cannot find a removed key; if it found a removed key, it read
	// the old epoch, and its cache entry is void.
	prepared := &keyMap{byKID: keys}
	s.prepare(prepared, s.keys.Load())
	s.keys.Store(prepared)
	if len(ev.Removed) > 0 {
		s.epoch.Add(1)
	}
	s.loadedOnce.Do(func() { close(s.loaded) })
	ev.Keys = len(keys)
	return s.nextRefresh(header), ev
}

func (s *Set) nextRefresh(h http.Header) time.Duration {
	upper := s.opts.RefreshInterval
	maxAge, ok := parseMaxAge(h.Get("Cache-Control"))
	if !ok {
		return upper
	}
	return min(max(maxAge, min(minRefresh, upper)), upper)
}

func parseMaxAge(cc string) (time.Duration, bool) {
	for _, d := range strings.Split(cc, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(d), "=")
		if !ok || !strings.EqualFold(name, "max-age") {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(365*24*3600))) * time.Second, true
	}
	return 0, false
}

// discover reads the OIDC discovery document (OpenID Connect Discovery 1.0
// section 4). A 404 falls back to "<issuer>/jwks", where Logto serves it.
func (s *Set) discover(ctx context.Context) (string, error) {
	body, _, err := s.get(ctx, s.opts.Issuer+"/.well-known/openid-configuration")
	var status statusError
	if errors.As(err, &status) && (status == http.StatusNotFound || status == http.StatusGone) {
		return s.opts.Issuer + "/jwks", nil
	}
	if err != nil {
		return "", err
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("discovery document is not JSON: %w", err)
	}
	if doc.Issuer != s.opts.Issuer {
		return "", fmt.Errorf("discovery document names issuer %q, want %q", doc.Issuer, s.opts.Issuer)
	}
	if doc.JWKSURI == "" {
		return s.opts.Issuer + "/jwks", nil
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", fmt.Errorf("discovery document has an invalid jwks_uri %q", doc.JWKSURI)
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !s.opts.AllowHTTP) {
		return "", fmt.Errorf("discovery document has a jwks_uri that is not https: %q", doc.JWKSURI)
	}
	return doc.JWKSURI, nil
}

type statusError int

func (e statusError) Error() string { return "unexpected HTTP status " + strconv.Itoa(int(e)) }

func (s *Set) get(ctx context.Context, u string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, nil, statusError(resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.opts.MaxBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(body)) > s.opts.MaxBytes {
		return nil, nil, fmt.Errorf("response larger than %d bytes", s.opts.MaxBytes)
	}
	return body, resp.Header, nil
}

// guardRedirects returns a copy of client whose redirects must each stay
// on https (http only when allowHTTP) and on the host of the first
// request: a plain-http hop anywhere in a chain would let anyone on its
// path choose the next hop, and so the keys. go-oidc and x/oauth2 follow
// the client's policy unchanged; this is stricter. The client's own
// CheckRedirect, if any, still runs after these checks (net/http's default
// stops after 10 redirects).
func guardRedirects(client *http.Client, allowHTTP bool) *http.Client {
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		u, first := req.URL, via[0].URL
		switch {
		case u.Scheme != "https" && (u.Scheme != "http" || !allowHTTP):
			return fmt.Errorf("refused a redirect to %s://%s, which is not https", u.Scheme, u.Host)
		case u.Hostname() != first.Hostname():
			return fmt.Errorf("refused a redirect from host %s to another host, %s", first.Hostname(), u.Hostname())
		case next != nil:
			return next(req, via)
		case len(via) >= 10:
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}
