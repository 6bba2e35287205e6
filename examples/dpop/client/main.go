// Command client is a DPoP client (RFC 9449) written with Go's standard
// library only, to show what a client does: it makes an ES256 key pair,
// gets an access token bound to that key from the issuer's token endpoint
// (client credentials, with a proof), then calls the API with the token
// and a fresh proof for each request.
//
//	go run ./client -issuer http://127.0.0.1:7080/oidc -client m2m-app:m2m-secret \
//	    -resource https://api.example.com -scope read:documents -url http://127.0.0.1:8080/documents
//
// -replay sends the API the same proof a second time, which it must
// refuse; -replay-to URL sends it to another replica instead. The token endpoint is read from the issuer's discovery document;
// authz dev-issuer issues DPoP-bound tokens, and so does Logto for
// clients that send a DPoP proof.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs explicit; it returns the exit
// code: 0 when every call answered as it should, 1 otherwise, 2 for a
// usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "http://127.0.0.1:7080/oidc", "the issuer URL")
	creds := fs.String("client", "m2m-app:m2m-secret", "the client's id:secret")
	resource := fs.String("resource", "https://api.example.com", "the API resource indicator")
	scope := fs.String("scope", "read:documents", "the permissions to ask for")
	api := fs.String("url", "http://127.0.0.1:8080/documents", "the API URL to GET")
	replay := fs.Bool("replay", false, "send the same proof again, which the API must refuse")
	replayTo := fs.String("replay-to", "", "send the replayed proof to this URL instead of -url: another replica behind the same external URL")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	id, secret, ok := strings.Cut(*creds, ":")
	if !ok {
		fmt.Fprintln(stderr, "-client must be id:secret")
		return 2
	}
	key, err := newKey()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "DPoP key thumbprint %s\n", key.thumbprint)
	tok, err := key.token(ctx, *issuer, id, secret, *resource, *scope)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "token type %s, %d bytes\n", tok.Type, len(tok.AccessToken))

	status, proof, err := key.call(ctx, *api, tok.AccessToken, "", stdout)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if status != http.StatusOK {
		return 1
	}
	if *replay || *replayTo != "" {
		target := *api
		if *replayTo != "" {
			target = *replayTo
		}
		fmt.Fprintln(stdout, "the same proof again:")
		if status, _, err = key.call(ctx, target, tok.AccessToken, proof, stdout); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if status != http.StatusUnauthorized {
			fmt.Fprintln(stderr, "a replayed proof was not refused")
			return 1
		}
	}
	return 0
}

// key is the client's DPoP key.
type key struct {
	private    *ecdsa.PrivateKey
	jwk        map[string]string // the public key, for the proof header
	thumbprint string            // RFC 7638, what the token's cnf.jkt will be
}

var b64 = base64.RawURLEncoding

func newKey() (*key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	pub, err := priv.PublicKey.ECDH()
	if err != nil {
		return nil, err
	}
	point := pub.Bytes() // 0x04 || X || Y, 32 bytes each
	x, y := b64.EncodeToString(point[1:33]), b64.EncodeToString(point[33:])
	// The thumbprint hashes the required members in lexicographic order,
	// without whitespace (RFC 7638 section 3.2).
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return &key{
		private:    priv,
		jwk:        map[string]string{"kty": "EC", "crv": "P-256", "x": x, "y": y},
		thumbprint: b64.EncodeToString(sum[:]),
	}, nil
}

// proof returns a DPoP proof (RFC 9449 section 4.2) for a request of
// method to target: "htu" is target without query and fragment, "ath" the
// hash of token (none when token is ""), "nonce" the server's nonce (none
// when "").
func (k *key) proof(method, target, token, nonce string) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	u.RawQuery, u.Fragment = "", ""
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	claims := map[string]any{"jti": b64.EncodeToString(jti[:]), "htm": method, "htu": u.String(), "iat": time.Now().Unix()}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		claims["ath"] = b64.EncodeToString(sum[:])
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	header, err := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString(header) + "." + b64.EncodeToString(body)
	digest := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, k.private, digest[:])
	if err != nil {
		return "", err
	}
	// JWS ES256 signatures are r || s, 32 bytes each (RFC 7518 section 3.4).
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + b64.EncodeToString(sig), nil
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	Type        string `json:"token_type"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// token gets an access token bound to k with the client credentials grant.
func (k *key) token(ctx context.Context, issuer, id, secret, resource, scope string) (*tokenResponse, error) {
	var doc struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := getJSON(ctx, issuer+"/.well-known/openid-configuration", &doc); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {resource}, "scope": {scope}}
	proof, err := k.proof(http.MethodPost, doc.TokenEndpoint, "", "")
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, doc.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var tok tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	switch {
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("token endpoint: %d %s: %s", resp.StatusCode, tok.Error, tok.Description)
	case !strings.EqualFold(tok.Type, "DPoP"):
		return nil, fmt.Errorf("token endpoint: the token is of type %q, not bound to the key (DPoP)", tok.Type)
	}
	return &tok, nil
}

// call sends GET target with the token and a proof by k, and prints the
// answer. It makes the proof, unless proof is given (to replay one); if the
// API then asks for a server nonce (use_dpop_nonce), it retries once with
// a new proof carrying the nonce. It returns the status and the last proof
// sent.
func (k *key) call(ctx context.Context, target, token, proof string, out io.Writer) (int, string, error) {
	replaying := proof != ""
	nonce := ""
	for attempt := 0; ; attempt++ {
		if !replaying {
			var err error
			if proof, err = k.proof(http.MethodGet, target, token, nonce); err != nil {
				return 0, "", err
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Authorization", "DPoP "+token)
		req.Header.Set("DPoP", proof)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, "", err
		}
		fmt.Fprintf(out, "GET %s: %s\n", target, resp.Status)
		if c := resp.Header.Get("WWW-Authenticate"); c != "" {
			fmt.Fprintf(out, "  WWW-Authenticate: %s\n", c)
		}
		fmt.Fprintf(out, "  %s\n", strings.TrimSpace(string(body)))
		nonce = resp.Header.Get("DPoP-Nonce")
		if replaying || attempt > 0 || resp.StatusCode != http.StatusUnauthorized || nonce == "" ||
			!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
			return resp.StatusCode, proof, nil
		}
	}
}

// getJSON GETs url and decodes its JSON body into v.
func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
