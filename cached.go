package authz

import (
	"context"
	"errors"
	"time"

	"github.com/seed31d61d31/authz/internal/cache"
	"github.com/seed31d61d31/authz/internal/jwks"
)

// validate is Validate; see its documentation for the order of checks.
// With the cache on, a token seen before (the same bytes, by SHA-256) skips
// straight to the time checks, and concurrent first sightings of one token
// are verified once. Every caller gets claims of its own. how says how the
// answer was reached.
func (v *Validator) validate(ctx context.Context, raw string) (c *Claims, how answer, err error) {
	return v.validateHashed(ctx, raw, nil)
}

// validateHashed is validate, given the SHA-256 of raw when the caller has
// it (nil otherwise).
func (v *Validator) validateHashed(ctx context.Context, raw string, digest *cache.Key) (c *Claims, how answer, err error) {
	if v.cache == nil {
		e, err := v.verify(ctx, raw)
		if err != nil {
			return nil, verified, err
		}
		e.claims.token = Token(raw)
		return &e.claims, verified, nil
	}
	if raw == "" || len(raw) > v.maxBytes {
		return nil, verified, v.checkShape(raw)
	}
	var key cache.Key
	if digest != nil {
		key = *digest
	} else {
		key = cache.KeyOf(raw)
	}
	now := v.now()
	if e, ok := v.cache.Get(key, now.UnixNano()); ok && e.set.Epoch() == e.epoch {
		hit := true
		if e.tenant != nil && !v.resolved.fresh(e.tenant, now.UnixNano()) {
			// A resolved issuer due for re-confirmation: the resolver
			// decides before the cached token is accepted.
			t, err := v.resolved.confirm(ctx, e.tenant, now)
			if err != nil {
				return nil, cacheHit, err
			}
			// Trusted on new terms, the issuer was resolved again: the
			// token is verified again under them.
			hit = t == e.tenant
		}
		if hit {
			if err := v.checkTimes(&e.claims, now); err != nil {
				return nil, cacheHit, err
			}
			return e.claims.clone(raw), cacheHit, nil
		}
	}
	e, how, err := v.verifyOnce(ctx, key, raw, now)
	if err != nil {
		return nil, how, err
	}
	// The entry is shared with the cache and with every concurrent caller:
	// the first caller, too, gets a copy.
	return e.claims.clone(raw), how, nil
}

// answer is how a validation was answered.
type answer uint8

const (
	verified answer = iota // by a verification of its own
	cacheHit               // from the verified-token cache
	shared                 // by a concurrent caller's verification
)

// verifyOnce verifies raw and caches the result, with one verification
// for all the concurrent callers of one token. The verification runs under
// the context of the caller that started it; each other caller waits
// under its own. When the starter's context ends first, the others do not
// take its failure: they verify again (or wait for whoever does).
func (v *Validator) verifyOnce(ctx context.Context, key cache.Key, raw string, now time.Time) (*cached, answer, error) {
	gaveUp := func() error {
		return wrapError(ErrKeysUnavailable, "gave up waiting for the token's verification", ctx.Err())
	}
	for {
		e, err, joined := v.flight.Do(key, ctx.Done(), gaveUp, func() (*cached, error) {
			e, err := v.verify(ctx, raw)
			switch {
			case err == nil:
				deadline := min(e.claims.ExpiresAt.Add(v.leeway).UnixNano(), now.Add(v.cacheTTL).UnixNano())
				v.cache.Put(key, e, deadline, now.UnixNano())
			case ctx.Err() != nil:
				err = abandoned{err}
			}
			return e, err
		})
		how := verified
		if joined {
			how = shared
		}
		var a abandoned
		if !errors.As(err, &a) {
			return e, how, err
		}
		if !joined || ctx.Err() != nil {
			return nil, how, a.err
		}
	}
}

// abandoned is the failure of a verification whose caller's context ended:
// it says nothing about the token to the callers that shared it.
type abandoned struct{ err error }

func (a abandoned) Error() string { return a.err.Error() }

// claimsBlock is a Claims and room for its slices, so that a copy of a
// cached Claims is a single allocation.
type claimsBlock struct {
	c   Claims
	buf [6]string
}

// clone returns a deep copy of c (its slices too: a caller may edit what it
// gets) carrying the raw token.
func (c *Claims) clone(raw string) *Claims {
	na, ns := len(c.Audience), len(c.Scopes)
	var out *Claims
	var buf []string
	if na+ns <= len(claimsBlock{}.buf) {
		b := &claimsBlock{c: *c}
		out, buf = &b.c, b.buf[:]
	} else {
		cp := *c
		out, buf = &cp, make([]string, na+ns)
	}
	out.token = Token(raw)
	if c.Audience != nil {
		out.Audience = buf[:na:na]
		copy(out.Audience, c.Audience)
	}
	if c.Scopes != nil {
		out.Scopes = buf[na : na+ns : na+ns]
		copy(out.Scopes, c.Scopes)
	}
	return out
}

// cached is a cache entry: the claims without the raw token, and the key
// set epoch read before the key was looked up.
type cached struct {
	claims Claims
	set    *jwks.Set
	epoch  uint64
	tenant *tenant // the resolved issuer, nil for a configured one
}
