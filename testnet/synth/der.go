package synth

import (
	"time"
)

// A minimal DER encoder for the X.509 certificates of TLS 1.2 server
// flights: structurally valid (dissectors parse them), signed by nobody.

// derTLV returns tag, the DER length of the parts and the parts.
func derTLV(tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n+4)
	out = append(out, tag)
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func derSeq(parts ...[]byte) []byte { return derTLV(0x30, parts...) }

// Object identifiers, DER-encoded.
var (
	oidSHA256RSA   = derTLV(0x06, []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b})
	oidRSA         = derTLV(0x06, []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01})
	oidECPublicKey = derTLV(0x06, []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01})
	oidP256        = derTLV(0x06, []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
	oidCountry     = derTLV(0x06, []byte{0x55, 0x04, 0x06})
	oidOrg         = derTLV(0x06, []byte{0x55, 0x04, 0x0a})
	oidCN          = derTLV(0x06, []byte{0x55, 0x04, 0x03})
	oidSAN         = derTLV(0x06, []byte{0x55, 0x1d, 0x11})
	derNull        = []byte{0x05, 0x00}
)

// derName returns an X.509 Name of country, organisation and common name
// (organisation left out when empty).
func derName(country, org, cn string) []byte {
	rdn := func(oid []byte, tag byte, v string) []byte {
		return derTLV(0x31, derSeq(oid, derTLV(tag, []byte(v))))
	}
	parts := [][]byte{rdn(oidCountry, 0x13, country)}
	if org != "" {
		parts = append(parts, rdn(oidOrg, 0x0c, org))
	}
	parts = append(parts, rdn(oidCN, 0x0c, cn))
	return derSeq(parts...)
}

// derRandomInt returns an INTEGER of n random bytes, positive.
func (g *gen) derRandomInt(n int) []byte {
	v := appendRandom(nil, g.r, n)
	v[0] &= 0x7f
	v[0] |= 0x01
	return derTLV(0x02, v)
}

// derBits returns a BIT STRING of n random bytes.
func (g *gen) derBits(n int) []byte {
	return derTLV(0x03, appendRandom([]byte{0}, g.r, n))
}

// derTime returns a UTCTime.
func derTime(t time.Time) []byte {
	return derTLV(0x17, t.UTC().AppendFormat(nil, "060102150405Z"))
}

// certificate returns a DER certificate. A leaf (ca false) names host in
// its subject alternative names and has an ECDSA P-256 key signed by the
// CA's RSA key; the CA certificate has an RSA key of rsaBytes bytes.
func (g *gen) certificate(host string, ca bool, rsaBytes int, at int64) []byte {
	issuer := derName("US", "Example Trust Services", "Example TLS CA R3")
	subject := derName("US", "", host)
	var spki []byte
	if ca {
		issuer = derName("US", "Example Trust Services", "Example Root CA X1")
		subject = derName("US", "Example Trust Services", "Example TLS CA R3")
		mod := append([]byte{0}, appendRandom(nil, g.r, rsaBytes)...)
		mod[1] |= 0x80
		key := derSeq(derTLV(0x02, mod), derTLV(0x02, []byte{1, 0, 1}))
		spki = derSeq(derSeq(oidRSA, derNull), derTLV(0x03, append([]byte{0}, key...)))
	} else {
		spki = derSeq(derSeq(oidECPublicKey, oidP256), derTLV(0x03, appendRandom([]byte{0, 4}, g.r, 64)))
	}
	from := time.Unix(0, at).Add(-time.Duration(10+g.r.IntN(70)) * 24 * time.Hour).Truncate(time.Hour)
	until := from.Add(90 * 24 * time.Hour)
	if ca {
		from, until = from.AddDate(-2, 0, 0), from.AddDate(3, 0, 0)
	}
	parts := [][]byte{
		derTLV(0xa0, derTLV(0x02, []byte{2})),
		g.derRandomInt(16),
		derSeq(oidSHA256RSA, derNull),
		issuer,
		derSeq(derTime(from), derTime(until)),
		subject,
		spki,
	}
	if !ca {
		san := derSeq(derTLV(0x82, []byte(host)))
		parts = append(parts, derTLV(0xa3, derSeq(derSeq(oidSAN, derTLV(0x04, san)))))
	}
	tbs := derSeq(parts...)
	return derSeq(tbs, derSeq(oidSHA256RSA, derNull), g.derBits(rsaBytes))
}

// appendCertificate appends a TLS 1.2 Certificate message with the chain
// of a server named host: its certificate and the CA's.
func (g *gen) appendCertificate(b []byte, host string, at int64) []byte {
	caBits := 256 << g.r.IntN(2)
	leaf := g.certificate(host, false, caBits, at)
	ca := g.certificate(host, true, caBits, at)
	n := 6 + len(leaf) + len(ca)
	b = append(b, 11, byte((n+3)>>16), byte((n+3)>>8), byte(n+3))
	b = append(b, byte(n>>16), byte(n>>8), byte(n))
	for _, c := range [][]byte{leaf, ca} {
		b = append(b, byte(len(c)>>16), byte(len(c)>>8), byte(len(c)))
		b = append(b, c...)
	}
	return b
}
