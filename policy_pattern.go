package authz

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// checkPattern makes the checks ServeMux does not: a pattern it would accept
// but that can only be a typing mistake.
func checkPattern(pattern string) string {
	switch {
	case pattern == "":
		return "empty route"
	case strings.TrimSpace(pattern) != pattern:
		return "route has leading or trailing whitespace"
	}
	_, host, _ := splitPattern(pattern)
	if strings.IndexFunc(host, unicode.IsSpace) >= 0 {
		return fmt.Sprintf("invalid route: host %q has whitespace (one method, then the path)", host)
	}
	return ""
}

var noopHandler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// register registers pattern on mux, turning ServeMux's panic on an invalid,
// repeated or conflicting pattern into its message.
func register(mux *http.ServeMux, pattern string) (msg string, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			msg, ok = fmt.Sprint(v), false
		}
	}()
	mux.Handle(pattern, noopHandler)
	return "", true
}

// invalidPattern explains ServeMux's parse error `parsing "<pattern>": <why>`.
func invalidPattern(pattern, msg string) string {
	msg = strings.TrimPrefix(msg, fmt.Sprintf("parsing %q: ", pattern))
	return "invalid route: " + msg
}

// conflict names the earlier rule that pattern conflicts with. msg is
// ServeMux's panic message, whose explanation follows its first ":\n".
func conflict(earlier []Rule, pattern, msg string, lineOf func(int) int) string {
	detail := "both match some requests and neither is more specific"
	if _, after, ok := strings.Cut(msg, ":\n"); ok && after != "" {
		detail = strings.ReplaceAll(strings.TrimSpace(after), "\n", " ")
	}
	for j, e := range earlier {
		mux := http.NewServeMux()
		register(mux, e.Pattern)
		if _, ok := register(mux, pattern); ok {
			continue
		}
		where := fmt.Sprintf("rule %d (%q)", j, e.Pattern)
		if l := lineOf(j); l > 0 {
			where += fmt.Sprintf(" at line %d", l)
		}
		if e.Pattern == pattern {
			return "duplicate route: same as " + where
		}
		return fmt.Sprintf("route conflicts with %s: %s", where, detail)
	}
	return "route conflicts with an earlier rule: " + detail
}

// splitPattern splits a ServeMux pattern into method, host and path, as
// net/http parses it: the method ends at the first space or tab.
func splitPattern(pattern string) (method, host, path string) {
	rest := pattern
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		method, rest = pattern[:i], strings.TrimLeft(pattern[i+1:], " \t")
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return method, rest, ""
	}
	return method, rest[:i], rest[i:]
}

// wildcards returns the wildcard names of a valid pattern's path: "x" for
// both {x} and {x...}; never "$".
func wildcards(path string) []string {
	var names []string
	for seg := range strings.SplitSeq(path, "/") {
		if len(seg) < 2 || seg[0] != '{' || seg[len(seg)-1] != '}' {
			continue
		}
		name := strings.TrimSuffix(seg[1:len(seg)-1], "...")
		if name != "" && name != "$" {
			names = append(names, name)
		}
	}
	return names
}
