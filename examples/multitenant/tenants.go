package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/seed31d61d31/authz"
)

// tenantsFile is the resolver's store: a JSON file listing the tenants,
//
//	{"tenants": [{"id": "acme", "issuer": "https://acme.logto.app/oidc"}]}
//
// re-read when it changes, whether rewritten in place or replaced by a
// rename. A real service would read a database table the same way: the
// trust comes from your own data, never from the issuer's name.
type tenantsFile struct {
	path  string
	every time.Duration // how often the file is looked at, at most

	mu        sync.Mutex
	checked   time.Time   // when the file was last looked at
	stat      os.FileInfo // what it was then
	byIssuer  map[string]string
	loadedErr error // the last read's error: the store is unreadable
}

type tenantsJSON struct {
	Tenants []struct {
		ID     string `json:"id"`
		Issuer string `json:"issuer"`
	} `json:"tenants"`
}

func newTenantsFile(path string) (*tenantsFile, error) {
	f := &tenantsFile{path: path, every: 250 * time.Millisecond}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.refreshLocked(time.Now()); err != nil {
		return nil, err
	}
	return f, nil
}

// refreshLocked re-reads the file if it changed since it was last read.
func (f *tenantsFile) refreshLocked(now time.Time) error {
	f.checked = now
	st, err := os.Stat(f.path)
	if err != nil {
		f.loadedErr = err
		return err
	}
	if f.stat != nil && os.SameFile(f.stat, st) && st.ModTime().Equal(f.stat.ModTime()) && st.Size() == f.stat.Size() {
		return f.loadedErr
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		f.loadedErr = err
		return err
	}
	var doc tenantsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		// A half-written file, or a mistake: keep the last good list.
		if f.byIssuer == nil {
			f.loadedErr = fmt.Errorf("%s: %w", f.path, err)
			return f.loadedErr
		}
		return nil
	}
	m := map[string]string{}
	for _, t := range doc.Tenants {
		if t.ID == "" || t.Issuer == "" {
			if f.byIssuer == nil {
				f.loadedErr = fmt.Errorf("%s: every tenant needs an id and an issuer", f.path)
				return f.loadedErr
			}
			return nil // keep the last good list
		}
		m[t.Issuer] = t.ID
	}
	f.byIssuer, f.stat, f.loadedErr = m, st, nil
	return nil
}

// tenant returns the tenant of issuer ("" for none), reading the file
// again when it may have changed; an error when the file cannot be read.
func (f *tenantsFile) tenant(issuer string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := time.Now(); now.Sub(f.checked) >= f.every {
		if err := f.refreshLocked(now); err != nil {
			return "", err
		}
	} else if f.loadedErr != nil {
		return "", f.loadedErr
	}
	return f.byIssuer[issuer], nil
}

// resolve is the authz.IssuerResolver over the file.
func (f *tenantsFile) resolve(_ context.Context, issuer string) (authz.IssuerTrust, error) {
	id, err := f.tenant(issuer)
	if err != nil {
		return authz.IssuerTrust{}, err
	}
	return authz.IssuerTrust{Trusted: id != ""}, nil
}
