package grpcauthz

import (
	"log/slog"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/internal/options"
)

// config collects the options; New checks it once.
type config struct {
	options.Failure
	logger      *slog.Logger
	observer    authz.Observer
	dpop        authz.DPoPMode
	externalURL string
}

// Option configures an [Interceptor] in [New]. Options are made by the
// functions of this package only; a nil Option makes New fail.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger sets the logger for refused calls. Default [slog.Default].
// Refusals are logged at [slog.LevelDebug], so that by default they are
// not logged at all: they are routine (a token expires every hour), and at
// a higher level any client could fill the logs with forged tokens; count
// them with an [authz.Observer] instead. Those answered with Unavailable
// (keys unavailable, the server's problem) are logged at [slog.LevelWarn].
// Each record has the
// code, the reason, the full method and, once a token validated, its
// subject. The token is never logged. To log nothing, pass a logger with
// [slog.DiscardHandler]. A nil logger makes New fail.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l }) // New refuses nil
}

// WithObserver reports every authorization decision the interceptors make
// (a method's rule checked on validated claims, allowed or refused, and
// calls to unlisted methods) to o.Decision, as an [authz.Decision] with
// Stage [authz.StageAuthorize] and Route set to the key of [Methods] that
// matched ("" for none). Validations are reported by the validator's own
// observer ([authz.WithObserver]); pass the same Observer to both.
// Default none, which costs nothing.
func WithObserver(o authz.Observer) Option {
	return optionFunc(func(c *config) { c.observer = o })
}
