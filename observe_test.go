package authz_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu        sync.Mutex
	decisions []authz.Decision
	refreshes []authz.KeyRefresh
}

func (r *recorder) observer() authz.Observer {
	return authz.Observer{
		Decision: func(_ context.Context, d authz.Decision) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.decisions = append(r.decisions, d)
		},
		KeyRefresh: func(k authz.KeyRefresh) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.refreshes = append(r.refreshes, k)
		},
	}
}

func (r *recorder) lastDecision(t *testing.T) authz.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.decisions)
	return r.decisions[len(r.decisions)-1]
}

func (r *recorder) allRefreshes() []authz.KeyRefresh {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]authz.KeyRefresh(nil), r.refreshes...)
}

func TestObserverSeesEveryValidation(t *testing.T) {
	var rec recorder
	f := newFixture(t, []string{api}, nil, authz.WithObserver(rec.observer()))
	ctx := context.Background()
	raw := must(t)(f.iss.MachineToken(api, "job-1", authztest.Scopes("sync")))

	_, err := f.v.Validate(ctx, raw)
	require.NoError(t, err)
	d := rec.lastDecision(t)
	assert.Equal(t, authz.StageValidate, d.Stage)
	assert.NoError(t, d.Err)
	assert.Equal(t, "ok", d.Reason())
	assert.Equal(t, f.iss.URL(), d.Issuer)
	assert.Equal(t, []string{api}, d.Audience)
	assert.True(t, d.Machine)
	assert.False(t, d.CacheHit)
	assert.Positive(t, d.Latency)

	_, err = f.v.Validate(ctx, raw)
	require.NoError(t, err)
	assert.True(t, rec.lastDecision(t).CacheHit)

	expired := must(t)(f.iss.APIToken(api, authztest.Expired()))
	_, err = f.v.Validate(ctx, expired)
	require.ErrorIs(t, err, authz.ErrExpired)
	d = rec.lastDecision(t)
	assert.ErrorIs(t, d.Err, authz.ErrExpired)
	assert.Equal(t, "expired", d.Reason())
	assert.Empty(t, d.Issuer, "nothing of an invalid token is reported as fact")

	for _, tok := range []string{raw, expired} {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		for _, d := range rec.decisions {
			assert.NotContains(t, fmt.Sprintf("%+v", d), sig, "the observer never sees the token")
		}
	}
}

func TestObserverSeesKeyRefreshes(t *testing.T) {
	var rec recorder
	f := newFixture(t, []string{api}, nil, authz.WithObserver(rec.observer()))
	ctx := context.Background()
	first := f.iss.KeyID()
	_, err := f.v.Validate(ctx, must(t)(f.iss.APIToken(api)))
	require.NoError(t, err)
	refreshes := rec.allRefreshes()
	require.Len(t, refreshes, 1)
	assert.Equal(t, f.iss.URL(), refreshes[0].Issuer)
	assert.Equal(t, f.iss.JWKSURL(), refreshes[0].URL)
	assert.Equal(t, []string{first}, refreshes[0].Added)
	assert.NoError(t, refreshes[0].Err)

	second := f.iss.RotateKeys()
	f.iss.DropPreviousKey()
	f.clock.Add(authz.DefaultRefreshCooldown)
	_, err = f.v.Validate(ctx, must(t)(f.iss.APIToken(api)))
	require.NoError(t, err)
	refreshes = rec.allRefreshes()
	require.Len(t, refreshes, 2)
	assert.Equal(t, []string{second}, refreshes[1].Added)
	assert.Equal(t, []string{first}, refreshes[1].Removed)
	assert.Equal(t, 1, refreshes[1].Keys)

	f.iss.SetUnavailable(true)
	f.clock.Add(authz.DefaultRefreshCooldown)
	_, err = f.v.Validate(ctx, must(t)(f.iss.APIToken(api, authztest.SignedByUnknownKey())))
	require.ErrorIs(t, err, authz.ErrUnknownKey)
	refreshes = rec.allRefreshes()
	require.Len(t, refreshes, 3)
	assert.Error(t, refreshes[2].Err)
	assert.Equal(t, 1, refreshes[2].Keys, "a failed refresh keeps the keys")
}

func TestDecisionReason(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{authz.ErrMissingToken, "missing_token"}, {authz.ErrMalformed, "malformed"}, {authz.ErrAlgorithm, "algorithm"},
		{authz.ErrTokenType, "token_type"}, {authz.ErrUnknownKey, "unknown_key"}, {authz.ErrSignature, "signature"},
		{authz.ErrIssuer, "issuer"}, {authz.ErrAudience, "audience"}, {authz.ErrExpired, "expired"},
		{authz.ErrNotYetValid, "not_yet_valid"}, {authz.ErrInsufficientScope, "insufficient_scope"},
		{authz.ErrOrganization, "organization"}, {authz.ErrKeysUnavailable, "keys_unavailable"},
		{authz.ErrInvalidRequest, "invalid_request"},
		{&authz.Error{Kind: authz.ErrExpired, Reason: "expired 1s ago"}, "expired"},
		{errors.New("something else"), "error"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, authz.Decision{Err: tt.err}.Reason())
		})
	}
}

// startKey carries the number of a Start call in the context it returns.
type startKey struct{}

// TestObserverStartPairsWithDecision: with Start set, each validation
// calls Start first, and its Decision gets the context Start returned, so
// that a tracer's span covers the whole validation; hits, misses and
// refusals alike. Start alone (without Decision) is never called.
func TestObserverStartPairsWithDecision(t *testing.T) {
	var mu sync.Mutex
	var starts []authz.Stage
	var ended []int
	var beganAt []time.Time
	obs := authz.Observer{
		Start: func(ctx context.Context, s authz.Stage) context.Context {
			mu.Lock()
			defer mu.Unlock()
			starts = append(starts, s)
			beganAt = append(beganAt, time.Now())
			return context.WithValue(ctx, startKey{}, len(starts))
		},
		Decision: func(ctx context.Context, d authz.Decision) {
			mu.Lock()
			defer mu.Unlock()
			n, _ := ctx.Value(startKey{}).(int)
			ended = append(ended, n)
			assert.False(t, time.Since(beganAt[n-1]) < d.Latency, "Start came before the decision's work")
		},
	}
	f := newFixture(t, []string{api}, nil, authz.WithObserver(obs))
	raw := must(t)(f.iss.APIToken(api))
	for _, tok := range []string{raw, raw, must(t)(f.iss.APIToken(api, authztest.Expired())), "junk"} {
		_, _ = f.v.Validate(context.Background(), tok)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []authz.Stage{authz.StageValidate, authz.StageValidate, authz.StageValidate, authz.StageValidate}, starts)
	assert.Equal(t, []int{1, 2, 3, 4}, ended, "each Decision gets the context of its own Start")

	called := false
	alone := newFixture(t, []string{api}, nil, authz.WithObserver(authz.Observer{Start: func(ctx context.Context, _ authz.Stage) context.Context {
		called = true
		return ctx
	}}))
	_, err := alone.v.Validate(context.Background(), must(t)(alone.iss.APIToken(api)))
	require.NoError(t, err)
	assert.False(t, called, "Start pairs with Decision: without Decision it is not called")
}

// TestObserverBegin: Begin calls Start for an authorization decision only
// when Decision is set, and Authorization hands Decision Begin's context.
func TestObserverBegin(t *testing.T) {
	var got []int
	obs := authz.Observer{
		Start: func(ctx context.Context, s authz.Stage) context.Context {
			assert.Equal(t, authz.StageAuthorize, s)
			return context.WithValue(ctx, startKey{}, 7)
		},
		Decision: func(ctx context.Context, d authz.Decision) {
			n, _ := ctx.Value(startKey{}).(int)
			got = append(got, n)
			assert.Equal(t, "GET /x", d.Route)
		},
	}
	ctx, start := obs.Begin(context.Background())
	assert.False(t, start.IsZero())
	obs.Authorization(ctx, nil, nil, "GET /x", start)
	assert.Equal(t, []int{7}, got)

	obs.Decision = nil
	ctx, start = obs.Begin(context.Background())
	assert.Nil(t, ctx.Value(startKey{}), "no Decision, no Start")
	assert.True(t, start.IsZero())
}
