package authz

import (
	"context"

	"github.com/seed31d61d31/authz/internal/cache"
	"github.com/seed31d61d31/authz/internal/jwks"
)

// validate is Validate; see its documentation for the order of checks.
// With the cache on, a token seen before (the same bytes, by SHA-256) skips
// straight to the time checks, and concurrent first sightings of one token
// are verified once.
func (v *Validator) validate(ctx context.Context, raw string) (c *Claims, hit bool, err error) {
	if v.cache == nil {
		c, _, err := v.verify(ctx, raw)
		return c, false, err
	}
	if raw == "" || len(raw) > v.maxBytes {
		return nil, false, v.checkShape(raw)
	}
	key := cache.KeyOf(raw)
	now := v.now()
	if e, ok := v.cache.Get(key, now.UnixNano()); ok && e.set.Epoch() == e.epoch {
		if err := v.checkTimes(&e.claims, now); err != nil {
			return nil, true, err
		}
		return e.claims.clone(raw), true, nil
	}
	c, err, shared := v.flight.Do(key, ctx.Done(), func() error {
		return wrapError(ErrKeysUnavailable, "gave up waiting for the token's verification", ctx.Err())
	}, func() (*Claims, error) {
		c, e, err := v.verify(ctx, raw)
		if err == nil {
			deadline := min(c.ExpiresAt.Add(v.leeway).UnixNano(), now.Add(v.cacheTTL).UnixNano())
			v.cache.Put(key, e, deadline, now.UnixNano())
		}
		return c, err
	})
	if shared && c != nil {
		c = c.clone(raw) // every caller gets its own Claims
	}
	return c, false, err
}

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
}
