package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

func inspectHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: authz inspect TOKEN|-

Decode a JWT access token and explain it: its kind, subject, audience,
scopes, organization and times in words ("expires in 42m", "expired 3h ago",
"issued 5m ago"), then its header and claims as JSON. "-" reads the token
from standard input; "Bearer " in front is ignored.

The kind follows Logto's token shapes, as authz.Claims does:

  API resource token            "aud" is the API's resource indicator
  organization token            "aud" is urn:logto:organization:<id>
  organization-level API token  "aud" is the API, plus "organization_id"
  machine-to-machine ...        "sub" equals "client_id" (any of the above)

Nothing is VERIFIED: anyone can write a token that decodes well. Use
"authz verify" to check the signature, issuer, audience and expiry.

A token that is not a JWT is explained too: a Logto opaque token (no dots)
comes from a token request that named no API resource.

Exit status: 0 decoded, 1 not a JWT, 2 usage error.

Example:

  authz inspect "$TOKEN"
  pbpaste | authz inspect -
`)
}

func runInspect(_ context.Context, args []string, s streams) int {
	fs := newFlagSet("inspect", s.stderr)
	pos, code, stop := parseFlags(fs, args, inspectHelp, s)
	if stop {
		return code
	}
	if len(pos) != 1 {
		return usageError(s, "inspect", "want one TOKEN, or - to read it from standard input; got %d arguments", len(pos))
	}
	raw, err := readToken(pos[0], s.stdin)
	if err != nil {
		return usageError(s, "inspect", "%v", err)
	}
	tok, err := decodeJWT(raw)
	if err != nil {
		fmt.Fprintf(s.stdout, "NOT A JWT: %v\n", err)
		return exitFailure
	}
	tok.print(s.stdout, time.Now())
	return exitOK
}

// decoded is a JWT decoded without any verification.
type decoded struct {
	header, claims         map[string]any // numbers as json.Number
	headerJSON, claimsJSON []byte         // indented, in the token's member order
	signatureBytes         int
}

// errOpaque explains a token with no dots.
var errOpaque = errors.New(`it has no "." separators, so it is most likely a Logto opaque access token. ` +
	`Logto issues one when the token request names no API resource; request the token with ` +
	`resource=<your API's resource indicator> to get a JWT. An opaque token can only be checked ` +
	`by Logto itself, at <endpoint>/oidc/token/introspection`)

// decodeJWT decodes a JWS compact serialization (RFC 7515) with JSON object
// header and claims, without verifying anything. Its errors say in words why
// raw is not a JWT. It never panics.
func decodeJWT(raw string) (*decoded, error) {
	parts := strings.Split(raw, ".")
	switch n := len(parts); {
	case n == 1:
		return nil, errOpaque
	case n == 5:
		return nil, errors.New("it has 5 segments: an encrypted JWT (JWE), which cannot be read without the decryption key; Logto does not issue these")
	case n != 3:
		return nil, fmt.Errorf("it has %d segments separated by \".\"; a JWT has 3 (header.payload.signature)", n)
	}
	d := &decoded{}
	var err error
	if d.header, d.headerJSON, err = decodeSegment(parts[0]); err != nil {
		return nil, fmt.Errorf("its header %w", err)
	}
	if d.claims, d.claimsJSON, err = decodeSegment(parts[1]); err != nil {
		return nil, fmt.Errorf("its payload %w", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil {
		return nil, errors.New("its signature is not base64url")
	}
	d.signatureBytes = len(sig)
	return d, nil
}

// decodeSegment decodes one base64url segment holding a JSON object.
func decodeSegment(seg string) (map[string]any, []byte, error) {
	if seg == "" {
		return nil, nil, errors.New("is empty")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return nil, nil, errors.New("is not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, nil, errors.New("is not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, errors.New("has data after its JSON object")
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, b, "", "  "); err != nil {
		return nil, nil, errors.New("is not a JSON object")
	}
	return m, escapeUnprintable(bytes.TrimSpace(pretty.Bytes())), nil
}

// escapeUnprintable rewrites, in indented JSON, every rune a terminal could
// take as a control (C0, C1, bidi controls, invalid UTF-8) as a \uXXXX
// escape. Outside strings, indented JSON holds only newlines and spaces, so
// the result is the same JSON value.
func escapeUnprintable(b []byte) []byte {
	var out bytes.Buffer
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == '\n' || r == ' ' || (r != utf8.RuneError && unicode.IsPrint(r) && !unicode.Is(unicode.Bidi_Control, r)):
			out.Write(b[:size])
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
		b = b[size:]
	}
	return out.Bytes()
}

// str returns a string member, or "" when absent or not a string.
func str(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}

// audiences returns "aud" as a list, whether a string or an array of
// strings; ok is false for any other shape.
func audiences(claims map[string]any) (list []string, ok bool) {
	switch aud := claims["aud"].(type) {
	case nil:
		return nil, true
	case string:
		return []string{aud}, true
	case []any:
		for _, a := range aud {
			s, isString := a.(string)
			if !isString {
				return nil, false
			}
			list = append(list, s)
		}
		return list, true
	default:
		return nil, false
	}
}

// scopes returns "scope" as a list (a space-separated string, or an array)
// and a description of its shape.
func scopes(claims map[string]any) (list []string, note string) {
	switch sc := claims["scope"].(type) {
	case nil:
		if _, present := claims["scope"]; present {
			return nil, `(none: "scope" is null)`
		}
		return nil, `(none: no "scope" claim)`
	case string:
		list = strings.Fields(sc)
		if len(list) == 0 {
			return nil, `(none: "scope" is empty)`
		}
		return list, ""
	case []any:
		for _, s := range sc {
			if v, ok := s.(string); ok {
				list = append(list, v)
			}
		}
		if len(list) == 0 {
			return nil, `(none: "scope" is an empty array)`
		}
		return list, ""
	default:
		return nil, `("scope" is neither a string nor an array)`
	}
}

// numericDate reads a NumericDate claim (RFC 7519 section 2).
func numericDate(claims map[string]any, name string) (t time.Time, present bool, err error) {
	v, present := claims[name]
	if !present {
		return time.Time{}, false, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, true, fmt.Errorf("%q is not a number", name)
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 253402300799 || math.IsNaN(f) {
		return time.Time{}, true, fmt.Errorf("%q is not a valid time", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// kind tells the token's kind from its claims, and the organization it is
// for, if any.
func (d *decoded) kind() (tokenKind, string) {
	var k tokenKind
	var org string
	auds, _ := audiences(d.claims)
	for _, a := range auds {
		if id, ok := strings.CutPrefix(a, organizationPrefix); ok {
			k.organizationToken, org = true, id
			break
		}
	}
	if !k.organizationToken {
		if id := str(d.claims, "organization_id"); id != "" {
			k.organizationLevel, org = true, id
		}
	}
	sub := str(d.claims, "sub")
	k.machine = sub != "" && sub == str(d.claims, "client_id")
	return k, org
}

// notes lists what authz would reject, or what looks wrong, in words.
func (d *decoded) notes(now time.Time) []string {
	var notes []string
	switch typ, ok := d.header["typ"].(string); {
	case !ok && d.header["typ"] == nil:
		notes = append(notes, `no "typ" header: not an RFC 9068 access token; authz rejects it (is it an ID token?)`)
	case !ok:
		notes = append(notes, `"typ" is not a string; authz rejects it`)
	case !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt"):
		notes = append(notes, fmt.Sprintf(`"typ" is %s, not "at+jwt": not an RFC 9068 access token (is it an ID token?); authz rejects it`, safe(fmt.Sprintf("%q", typ))))
	}
	alg := str(d.header, "alg")
	switch {
	case alg == "" || strings.EqualFold(alg, "none"):
		notes = append(notes, `"alg" is missing or "none": an unsigned token; authz never accepts it`)
	case strings.HasPrefix(alg, "HS"):
		notes = append(notes, fmt.Sprintf(`"alg" is %s, a shared-secret algorithm; authz never accepts HMAC`, safe(alg)))
	case !slices.Contains([]string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}, alg):
		notes = append(notes, fmt.Sprintf(`"alg" %s is not one authz accepts`, safe(fmt.Sprintf("%q", alg))))
	}
	if _, ok := d.header["crit"]; ok {
		notes = append(notes, `header has "crit": authz supports no JWS extension and rejects it`)
	}
	if _, ok := d.header["kid"].(string); !ok {
		notes = append(notes, `no "kid" header: authz cannot pick a key and rejects it`)
	}
	if _, present, _ := numericDate(d.claims, "exp"); !present {
		notes = append(notes, `no "exp": authz rejects a token without an expiry`)
	}
	for _, name := range []string{"exp", "iat", "nbf"} {
		if _, _, err := numericDate(d.claims, name); err != nil {
			notes = append(notes, err.Error()+"; authz rejects it")
		}
	}
	if _, ok := audiences(d.claims); !ok {
		notes = append(notes, `"aud" is neither a string nor an array of strings; authz rejects it`)
	}
	if k, org := d.kind(); k.organizationToken {
		if id, ok := d.claims["organization_id"].(string); ok && id != org {
			notes = append(notes, `"organization_id" contradicts the organization audience; authz rejects it`)
		}
	}
	if iat, _, err := numericDate(d.claims, "iat"); err == nil && iat.After(now.Add(30*time.Second)) {
		notes = append(notes, `"iat" is in the future: authz rejects it beyond its leeway (30s by default)`)
	}
	return notes
}

// banner is printed first and last, so it is seen whichever end the reader
// looks at.
const banner = `NOT VERIFIED: decoded only. The signature, issuer and audience were not checked; run "authz verify".`

// print writes the explanation of the token.
func (d *decoded) print(w io.Writer, now time.Time) {
	fmt.Fprintf(w, "%s\n\n", banner)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label, value string) { fmt.Fprintf(tw, "%s\t%s\n", label, value) }

	k, org := d.kind()
	row("kind", fmt.Sprintf("%s (%s)", k, k.explain()))
	sub := str(d.claims, "sub")
	switch {
	case sub == "":
		row("subject", `(no "sub")`)
	case k.machine:
		row("subject", safe(sub)+" (an application: machine-to-machine)")
	default:
		row("subject", safe(sub)+" (a user)")
	}
	if c := str(d.claims, "client_id"); c != "" {
		row("client", safe(c))
	}
	if act, ok := d.claims["act"].(map[string]any); ok {
		row("actor", safe(str(act, "sub"))+" (acting for the subject)")
	}
	row("issuer", orNone(safe(str(d.claims, "iss")), `(no "iss")`))
	auds, _ := audiences(d.claims)
	row("audience", orNone(safeList(auds), `(no "aud")`))
	row("organization", orNone(safe(org), "(none)"))
	list, note := scopes(d.claims)
	row("scopes", orNone(safeList(list), note))
	if t, ok, err := numericDate(d.claims, "iat"); ok && err == nil {
		row("issued", timestamp(t)+"  "+issued(t, now))
	}
	if t, ok, err := numericDate(d.claims, "nbf"); ok && err == nil {
		row("not before", timestamp(t)+"  "+notBefore(t, now))
	}
	if t, ok, err := numericDate(d.claims, "exp"); ok && err == nil {
		row("expires", timestamp(t)+"  "+expiry(t, now))
	}
	if t, ok, err := numericDate(d.claims, "exp"); ok && err == nil {
		if iat, ok, err := numericDate(d.claims, "iat"); ok && err == nil && t.After(iat) {
			row("lifetime", human(t.Sub(iat).Round(time.Second)))
		}
	}
	if jti := str(d.claims, "jti"); jti != "" {
		row("token id", safe(jti))
	}
	row("signature", fmt.Sprintf("%d bytes, %s, key %s (not checked)", d.signatureBytes, orNone(safe(str(d.header, "alg")), "no alg"), orNone(safe(str(d.header, "kid")), "(no kid)")))
	_ = tw.Flush()

	if notes := d.notes(now); len(notes) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, n := range notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	fmt.Fprintf(w, "\nheader:\n%s\n\nclaims:\n%s\n\n%s\n", d.headerJSON, d.claimsJSON, banner)
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
