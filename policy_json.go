package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unsafe"
)

// policyDecoder decodes the JSON form of a Policy strictly: field names match
// exactly (encoding/json alone would accept "Route" for "route"), a repeated
// field is an error (encoding/json alone would keep the last one, so a second
// "allOf": [] could silently drop a requirement), and every error carries the
// line it is on.
type policyDecoder struct {
	data     []byte
	newlines []int // offsets of '\n' in data, computed on first use
}

// ruleFields and orgFields are the JSON field names, from the struct tags.
var (
	ruleFields = []string{"route", "token", "allOf", "anyOf", "organization", "public"}
	orgFields  = []string{"pathValue", "header", "fromToken"}
)

func (d *policyDecoder) decode() ([]Rule, []int, *PolicyError) {
	// encoding/json checks the syntax and finds the end of the document;
	// the walk below reads d.data itself, so every value keeps its offset.
	dec := json.NewDecoder(bytes.NewReader(d.data))
	var top json.RawMessage
	if err := dec.Decode(&top); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, &PolicyError{Index: -1, Reason: `empty input: want {"rules": [...]}`, err: err}
		}
		return nil, nil, d.syntaxError(-1, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		off := skip(d.data, int(dec.InputOffset()))
		return nil, nil, &PolicyError{Index: -1, Line: d.line(off), Reason: "data after the policy object"}
	}
	start := skip(d.data, 0)
	top = d.data[start : start+len(top)]
	var (
		rules     []Rule
		lines     []int
		rulesLine = 1
		seen      bool
	)
	perr := d.object(top, -1, func(key string, keyOff int, val []byte) *PolicyError {
		if key != "rules" {
			return &PolicyError{Index: -1, Line: d.line(keyOff), Reason: fmt.Sprintf(`unknown field %q (want "rules")`, key)}
		}
		if seen {
			return &PolicyError{Index: -1, Line: d.line(keyOff), Reason: `field "rules" given twice`}
		}
		seen, rulesLine = true, d.line(keyOff)
		var perr *PolicyError
		rules, lines, perr = d.rules(val)
		return perr
	})
	if perr != nil {
		if perr.Reason == "" {
			perr.Reason = `the policy is not a JSON object: want {"rules": [...]}`
		}
		return nil, nil, perr
	}
	if len(rules) == 0 {
		return nil, nil, &PolicyError{Index: -1, Line: rulesLine, Reason: "no rules: the policy would deny every route"}
	}
	return rules, lines, nil
}

// rules decodes the array of rules, raw, a part of d.data.
func (d *policyDecoder) rules(raw []byte) ([]Rule, []int, *PolicyError) {
	if string(raw) == "null" {
		return nil, nil, nil
	}
	if raw[0] != '[' {
		return nil, nil, &PolicyError{Index: -1, Line: d.line(d.offset(raw)), Reason: `"rules" is not an array`}
	}
	var (
		rules []Rule
		lines []int
		perr  *PolicyError
	)
	eachElement(raw, func(elem []byte) bool {
		var r Rule
		if r, perr = d.rule(len(rules), elem); perr != nil {
			return false
		}
		rules = append(rules, r)
		lines = append(lines, d.line(d.offset(elem)))
		return true
	})
	if perr != nil {
		return nil, nil, perr
	}
	return rules, lines, nil
}

// rule decodes rule i, raw, a part of d.data. A field error is reported
// once the whole rule is read, so that it can name the route.
func (d *policyDecoder) rule(i int, raw []byte) (Rule, *PolicyError) {
	var (
		r        Rule
		hasRoute bool
		first    *PolicyError
	)
	fieldErr := func(off int, format string, args ...any) *PolicyError {
		if first == nil {
			first = &PolicyError{Index: i, Line: d.line(off), Reason: fmt.Sprintf(format, args...)}
		}
		return nil
	}
	perr := d.object(raw, i, func(key string, keyOff int, val []byte) *PolicyError {
		valOff := d.offset(val)
		var err error
		switch key {
		case "route":
			var s *string
			if err = json.Unmarshal(val, &s); err == nil && s == nil {
				return fieldErr(keyOff, `"route" is null`)
			} else if err == nil {
				r.Pattern, hasRoute = *s, true
			}
		case "token":
			var k string
			if err = json.Unmarshal(val, &k); err == nil {
				if r.Token.UnmarshalText([]byte(k)) != nil || k == "" {
					return fieldErr(valOff, `field "token" is %q: want "api" or "organization"`, k)
				}
			}
		case "allOf":
			err = json.Unmarshal(val, &r.AllOf)
		case "anyOf":
			err = json.Unmarshal(val, &r.AnyOf)
		case "public":
			err = json.Unmarshal(val, &r.Public)
		case "organization":
			var perr *PolicyError
			r.Organization, perr = d.org(i, val)
			if perr != nil && first == nil {
				first = perr
			}
			return nil
		default:
			return fieldErr(keyOff, "unknown field %q (fields are %s; names are case-sensitive)", key, strings.Join(ruleFields, ", "))
		}
		if err != nil {
			return fieldErr(valOff, "field %q: %s", key, typeWant(key))
		}
		return nil
	})
	switch {
	case perr != nil:
		if perr.Reason == "" {
			perr.Reason = `rule is not a JSON object: want {"route": "...", ...}`
		}
		perr.Route = r.Pattern // as far as it was read
		return Rule{}, perr
	case first != nil:
		first.Route = r.Pattern
		return Rule{}, first
	case !hasRoute:
		return Rule{}, &PolicyError{Index: i, Line: d.line(d.offset(raw)), Reason: `missing "route"`}
	}
	return r, nil
}

// org decodes the "organization" object of rule i, raw, a part of d.data.
func (d *policyDecoder) org(i int, raw []byte) (*OrgSource, *PolicyError) {
	if string(raw) == "null" {
		return nil, nil
	}
	o := new(OrgSource)
	var first *PolicyError
	perr := d.object(raw, i, func(key string, keyOff int, val []byte) *PolicyError {
		valOff := d.offset(val)
		var dst any
		want := "a string"
		switch key {
		case "pathValue":
			dst = &o.PathValue
		case "header":
			dst = &o.Header
		case "fromToken":
			dst, want = &o.FromToken, "true or false"
		default:
			if first == nil {
				first = &PolicyError{Index: i, Line: d.line(keyOff), Reason: fmt.Sprintf(
					"unknown field %q in \"organization\" (fields are %s; names are case-sensitive)", key, strings.Join(orgFields, ", "))}
			}
			return nil
		}
		if err := json.Unmarshal(val, dst); err != nil && first == nil {
			first = &PolicyError{Index: i, Line: d.line(valOff), Reason: fmt.Sprintf("field \"organization.%s\": want %s", key, want)}
		}
		return nil
	})
	if perr != nil {
		if perr.Reason == "" {
			perr.Reason = `"organization" is not a JSON object: want {"pathValue": "..."}, {"header": "..."} or {"fromToken": true}`
		}
		return nil, perr
	}
	return o, first
}

// object walks the JSON object raw, a part of d.data, with the walker that
// reads token claims, calling fn for each field with the offset of its
// name. A repeated field is an error. If raw is not an object, it returns
// a PolicyError with an empty Reason for the caller to fill in.
func (d *policyDecoder) object(raw []byte, index int, fn func(key string, keyOff int, val []byte) *PolicyError) *PolicyError {
	if raw[0] != '{' {
		return &PolicyError{Index: index, Line: d.line(d.offset(raw))}
	}
	seen := map[string]bool{}
	var perr *PolicyError
	werr := eachMember(raw, "policy", func(name, val []byte) *Error {
		key := string(name)
		keyOff := d.offset(name)
		if keyOff < 0 { // an escaped name, decoded elsewhere: its value's line
			keyOff = d.offset(val)
		}
		if seen[key] {
			perr = &PolicyError{Index: index, Line: d.line(keyOff), Reason: fmt.Sprintf("field %q given twice", key)}
		} else {
			seen[key] = true
			perr = fn(key, keyOff, val)
		}
		if perr != nil {
			return errStop
		}
		return nil
	})
	if werr != nil && werr != errStop { // the document is valid JSON: it fails closed all the same
		return &PolicyError{Index: index, Line: d.line(d.offset(raw)), Reason: werr.Reason, err: werr}
	}
	return perr
}

// errStop ends a walk early.
var errStop = &Error{Kind: ErrMalformed}

// offset returns the offset in d.data of s, a part of it, or -1 when s is
// not part of d.data (an escaped name is decoded into a slice of its own).
func (d *policyDecoder) offset(s []byte) int {
	if len(s) == 0 || len(d.data) == 0 {
		return -1
	}
	p, base := uintptr(unsafe.Pointer(unsafe.SliceData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(d.data)))
	if p < base || p-base >= uintptr(len(d.data)) {
		return -1
	}
	return int(p - base)
}

func typeWant(key string) string {
	switch key {
	case "route", "token":
		return "want a string"
	case "public":
		return "want true or false"
	default:
		return "want an array of strings"
	}
}

// syntaxError reports a JSON syntax error at the line it is on.
func (d *policyDecoder) syntaxError(index int, err error) *PolicyError {
	off := len(d.data)
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset > 0 && se.Offset <= int64(len(d.data)) {
		off = int(se.Offset) - 1 // Offset counts the bad byte itself
	}
	reason := "invalid JSON: " + err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		reason = "invalid JSON: unexpected end of input"
	}
	return &PolicyError{Index: index, Line: d.line(off), Reason: reason, err: err}
}

// skip returns the offset of the next token in b at or after off, skipping
// JSON whitespace and the separators ',' and ':'.
func skip(b []byte, off int) int {
	for off < len(b) && strings.IndexByte(" \t\r\n,:", b[off]) >= 0 {
		off++
	}
	return off
}

// line returns the 1-based line of offset off of d.data.
func (d *policyDecoder) line(off int) int {
	if d.newlines == nil {
		d.newlines = []int{}
		for i, c := range d.data {
			if c == '\n' {
				d.newlines = append(d.newlines, i)
			}
		}
	}
	return 1 + sort.SearchInts(d.newlines, off)
}
