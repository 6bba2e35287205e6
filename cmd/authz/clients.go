package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/seed31d61d31/authz/internal/permission"
)

// defaultClients is the clients file the dev issuer serves when --clients is
// not given. It is also the documentation of the format.
const defaultClients = `{
  "clients": [
    {
      "id": "m2m-app",
      "secret": "m2m-secret",
      "resources": {
        "https://api.example.com": ["read:documents", "write:documents"]
      },
      "organizations": {
        "org-a": {
          "scopes": ["read:members", "invite:members"],
          "resources": {
            "https://api.example.com": ["read:reports"]
          }
        }
      }
    },
    {
      "id": "read-only-app",
      "secret": "read-only-secret",
      "resources": {
        "https://api.example.com": ["read:documents"]
      }
    }
  ]
}
`

// clientsFormat explains the clients file, for the help.
const clientsFormat = `The clients file is JSON: {"clients": [CLIENT, ...]}, each CLIENT with

  "id", "secret"     the client credentials (letters, digits, "-", ".", "_", "~")
  "resources"        {"<API resource indicator>": ["<permission>", ...]}: the
                     permissions its machine-to-machine roles grant per API
  "organizations"    {"<organization id>": {"scopes": [...], "resources": {...}}}:
                     the organizations it is a member of; "scopes" are the
                     organization permissions of its organization roles, and
                     "resources" the API permissions they grant there
                     (organization-level API resources)

Every resource indicator named in the file is a registered API resource.`

// clientsFile is the JSON shape of a clients file.
type clientsFile struct {
	Clients []*client `json:"clients"`
}

// client is one application allowed the client credentials grant.
type client struct {
	ID            string                      `json:"id"`
	Secret        string                      `json:"secret"`
	Resources     map[string][]string         `json:"resources"`
	Organizations map[string]*organizationRef `json:"organizations"`
}

// organizationRef is a client's membership of one organization.
type organizationRef struct {
	Scopes    []string            `json:"scopes"`
	Resources map[string][]string `json:"resources"`
}

// registry is a loaded, checked clients file. It is read-only once built,
// so the token endpoint may read it from many goroutines.
type registry struct {
	clients   []*client // in file order
	byID      map[string]*client
	resources map[string]bool // every registered API resource indicator
}

func (r *registry) client(id string) *client { return r.byID[id] }

// loadClients reads a clients file; path "" gives the built-in default.
func loadClients(path string) (*registry, error) {
	if path == "" {
		return parseClients([]byte(defaultClients))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("%s: over %d bytes", path, maxInput)
	}
	r, err := parseClients(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// parseClients decodes and checks a clients file. Errors name the line of a
// JSON error, or the client and grant at fault.
func parseClients(b []byte) (*registry, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f clientsFile
	if err := dec.Decode(&f); err != nil {
		return nil, jsonError(b, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	if len(f.Clients) == 0 {
		return nil, errors.New(`no clients: want {"clients": [{"id": ..., "secret": ..., "resources": {...}}]}`)
	}
	r := &registry{byID: map[string]*client{}, resources: map[string]bool{}}
	for n, c := range f.Clients {
		if c == nil {
			return nil, fmt.Errorf("client %d is null", n+1)
		}
		if err := r.add(c); err != nil {
			if c.ID == "" {
				return nil, fmt.Errorf("client %d: %w", n+1, err)
			}
			return nil, fmt.Errorf("client %q: %w", c.ID, err)
		}
	}
	return r, nil
}

func (r *registry) add(c *client) error {
	switch {
	case !credential(c.ID):
		return errors.New(`"id" must be 1 to 128 letters, digits, "-", ".", "_" or "~"`)
	case !credential(c.Secret):
		return errors.New(`"secret" must be 1 to 128 letters, digits, "-", ".", "_" or "~"`)
	case r.byID[c.ID] != nil:
		return errors.New("the id is given twice")
	}
	if err := r.addResources(c.Resources); err != nil {
		return err
	}
	for org, ref := range c.Organizations {
		if !validOrgID(org) {
			return fmt.Errorf("organization %q: an id is 1 to 128 printable ASCII characters, no space or \"*\"", org)
		}
		if ref == nil {
			return fmt.Errorf("organization %q: null; give {} for a membership with no permissions", org)
		}
		if err := checkScopes(ref.Scopes); err != nil {
			return fmt.Errorf("organization %q: %w", org, err)
		}
		if err := r.addResources(ref.Resources); err != nil {
			return fmt.Errorf("organization %q: %w", org, err)
		}
	}
	r.byID[c.ID] = c
	r.clients = append(r.clients, c)
	return nil
}

func (r *registry) addResources(grants map[string][]string) error {
	for res, perms := range grants {
		if err := checkResource(res); err != nil {
			return err
		}
		if err := checkScopes(perms); err != nil {
			return fmt.Errorf("resource %q: %w", res, err)
		}
		r.resources[res] = true
	}
	return nil
}

// credential reports whether s can be a client id or secret: characters
// that read the same in "curl -u id:secret", HTTP Basic and form encoding.
func credential(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// checkResource checks a resource indicator: an absolute URI with no
// fragment (RFC 8707 section 2).
func checkResource(res string) error {
	u, err := url.Parse(res)
	if err != nil || !u.IsAbs() || u.Fragment != "" || strings.ContainsAny(res, " \t\r\n#") {
		return fmt.Errorf("resource %q: a resource indicator is an absolute URI without a fragment (RFC 8707), e.g. https://api.example.com", res)
	}
	if strings.HasPrefix(res, organizationPrefix) {
		return fmt.Errorf("resource %q: organization audiences come from \"organizations\", not \"resources\"", res)
	}
	return nil
}

// checkScopes checks permissions by authz's one rule for a permission.
func checkScopes(scopes []string) error {
	for _, s := range scopes {
		if !permission.Valid(s) {
			return fmt.Errorf("permission %q cannot be carried by a \"scope\": it is empty, or has whitespace, a control character or invalid UTF-8", s)
		}
	}
	return nil
}

// validOrgID reports whether id can be an organization id, by authz's
// rule: 1 to 128 printable ASCII characters, no space, no "*".
func validOrgID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '*' {
			return false
		}
	}
	return true
}

// jsonError adds the line and column to a JSON decoding error.
func jsonError(b []byte, err error) error {
	var offset int64 = -1
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	if offset <= 0 || offset > int64(len(b)) {
		return err
	}
	// The offset counts the byte at fault as read: point at that byte.
	at := b[:offset-1]
	line := 1 + bytes.Count(at, []byte("\n"))
	col := len(at) - bytes.LastIndexByte(at, '\n')
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// sortedKeys returns a map's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// intersect returns the elements of allowed that are in requested, in the
// order of allowed, without duplicates (as Logto grants scopes).
func intersect(allowed, requested []string) []string {
	var out []string
	for _, a := range allowed {
		if slices.Contains(requested, a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
