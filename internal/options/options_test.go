package options_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/seed31d61d31/authz/internal/options"
)

type option interface{ apply(*config) }

type config struct {
	options.Failure
	n int
}

type add int

func (a add) apply(c *config) {
	if a < 0 {
		c.Fail("test: ", "negative %d", int(a))
		return
	}
	c.n += int(a)
}

func TestApply(t *testing.T) {
	run := func(opts ...option) (int, error) {
		var c config
		err := options.Apply("test: ", opts, &c.Failure, func(o option) { o.apply(&c) })
		return c.n, err
	}
	n, err := run(add(1), add(2))
	assert.NoError(t, err)
	assert.Equal(t, 3, n)

	n, err = run(add(1), add(-5), add(-6), add(10))
	assert.EqualError(t, err, "test: negative -5", "the first failure, and nothing after it")
	assert.Equal(t, 1, n)

	_, err = run(add(1), nil)
	assert.EqualError(t, err, "test: nil Option")
}
