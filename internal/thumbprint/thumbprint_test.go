package thumbprint_test

import (
	"testing"

	"github.com/MicahParks/jwkset"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/internal/thumbprint"
)

func TestThumbprint(t *testing.T) {
	// RFC 7638, section 3.1.
	rfcKey := jwkset.JWKMarshal{
		KTY: jwkset.KtyRSA,
		E:   "AQAB",
		N: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJEC" +
			"PebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q" +
			"vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh" +
			"6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
	}
	decorated := rfcKey
	decorated.ALG = jwkset.AlgRS256
	decorated.KID = "2011-04-29"
	decorated.USE = jwkset.UseSig

	tests := []struct {
		name    string
		key     jwkset.JWKMarshal
		want    string
		wantErr bool
	}{
		{name: "RFC 7638 example", key: rfcKey, want: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{name: "optional members are ignored", key: decorated, want: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		// RFC 8037, appendix A.3.
		{name: "RFC 8037 Ed25519 example", key: jwkset.JWKMarshal{KTY: jwkset.KtyOKP, CRV: jwkset.CrvEd25519, X: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}, want: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
		{name: "symmetric key", key: jwkset.JWKMarshal{KTY: jwkset.KtyOct, K: "c2VjcmV0"}, wantErr: true},
		{name: "RSA key without n", key: jwkset.JWKMarshal{KTY: jwkset.KtyRSA, E: "AQAB"}, wantErr: true},
		{name: "EC key without y", key: jwkset.JWKMarshal{KTY: jwkset.KtyEC, CRV: jwkset.CrvP256, X: "eA"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := thumbprint.Of(tt.key)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
