// Package options is the functional-options machinery shared by the
// constructors of this module (authz.New, middleware.New, grpcauthz.New):
// each keeps its own Option interface with an unexported apply method, so
// options cannot be forged, and records the first invalid option here.
package options

import (
	"errors"
	"fmt"
)

// Failure records the first error reported while options are applied.
// Embed it in a constructor's config.
type Failure struct {
	Err error
}

// Fail records the error prefix+format, unless one is recorded already.
func (f *Failure) Fail(prefix, format string, args ...any) {
	if f.Err == nil {
		f.Err = fmt.Errorf(prefix+format, args...)
	}
}

// Apply calls apply on each of opts in order. A nil option, or the first
// error recorded in f, ends it with that error; prefix starts the error of
// a nil option ("authz: ").
func Apply[O comparable](prefix string, opts []O, f *Failure, apply func(O)) error {
	var none O
	for _, o := range opts {
		if o == none {
			return errors.New(prefix + "nil Option")
		}
		apply(o)
		if f.Err != nil {
			return f.Err
		}
	}
	return nil
}
