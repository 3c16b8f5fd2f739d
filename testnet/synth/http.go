package synth

import (
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"strings"
	"time"
)

// resource is a kind of object fetched over HTTP.
type resource struct {
	paths       []string
	contentType string
	lo, hi      float64 // body size range, bytes
	textual     bool
}

var resources = []resource{
	{[]string{"/", "/index.html", "/news/", "/about/contact.html", "/products/", "/en/support/faq.html"}, "text/html; charset=utf-8", 3e3, 90e3, true},
	{[]string{"/static/js/app.js", "/assets/vendor.min.js", "/js/main.js"}, "application/javascript", 8e3, 400e3, true},
	{[]string{"/static/css/site.css", "/assets/style.min.css"}, "text/css", 2e3, 80e3, true},
	{[]string{"/images/logo.png", "/img/banner.png", "/static/img/icon-192.png"}, "image/png", 1e3, 250e3, false},
	{[]string{"/images/photo-1042.jpg", "/media/cover.jpg"}, "image/jpeg", 10e3, 600e3, false},
	{[]string{"/api/v1/status", "/api/v2/items?page=2", "/config.json"}, "application/json", 150, 6e3, true},
	{[]string{"/favicon.ico"}, "image/x-icon", 1e3, 16e3, false},
	{[]string{"/debian/dists/bookworm/InRelease", "/ubuntu/dists/noble/Release.gpg", "/pool/main/o/openssl/libssl3_3.0.15-1_amd64.deb"}, "application/octet-stream", 1e3, 2e6, false},
}

// appendRequest appends an HTTP/1.1 GET request.
func appendRequest(b []byte, path, hostHdr string, client browser) []byte {
	b = append(b, "GET "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, hostHdr...)
	b = append(b, "\r\nUser-Agent: "...)
	b = append(b, client.ua...)
	if client.hello == helloOpenSSL {
		b = append(b, "\r\nAccept: */*\r\n\r\n"...)
		return b
	}
	b = append(b, "\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"...)
	b = append(b, "Accept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n"...)
	if client.hello == helloChrome {
		b = append(b, "Upgrade-Insecure-Requests: 1\r\n"...)
	}
	return append(b, "\r\n"...)
}

// appendResponseHead appends the status line and headers of a response.
func appendResponseHead(b []byte, status, server, ctype string, length int, date int64, etag uint32) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = append(b, status...)
	b = append(b, "\r\nServer: "...)
	b = append(b, server...)
	b = append(b, "\r\nDate: "...)
	b = time.Unix(0, date).UTC().AppendFormat(b, "Mon, 02 Jan 2006 15:04:05 GMT")
	if length >= 0 {
		b = append(b, "\r\nContent-Type: "...)
		b = append(b, ctype...)
		b = append(b, "\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(length), 10)
	}
	b = append(b, "\r\nConnection: keep-alive\r\nETag: \""...)
	b = strconv.AppendUint(b, uint64(etag), 16)
	b = append(b, "\"\r\nCache-Control: max-age=3600\r\n\r\n"...)
	return b
}

// appendBody appends a body of n bytes of the resource's look.
func (g *gen) appendBody(b []byte, res *resource, n int) []byte {
	switch {
	case res.contentType == "image/png" && n >= 80:
		return g.appendPNG(b, n)
	case res.contentType == "image/jpeg" && n >= 80:
		return g.appendJPEG(b, n)
	case res.contentType == "application/json" && n >= 2:
		b = append(b, '{')
		b = appendFill(b, g.r, text, n-2)
		return append(b, '}')
	case strings.HasPrefix(res.contentType, "text/html") && n >= 64:
		const head = "<!DOCTYPE html>\n<html><head><title>"
		b = append(b, head...)
		n -= len(head)
	}
	if res.textual {
		return appendFill(b, g.r, text, n)
	}
	return appendNoise(b, g.r, n)
}

// http writes a plain HTTP connection: handshake, one to a few GET
// requests each answered by 200 (later ones sometimes by 304), and the
// teardown by the client.
func (g *gen) http(s *session, start int64, budget int) {
	r := g.r
	h := g.pickHost()
	n := g.w.pickName(r, 0)
	srv := &g.w.servers[n.srv]
	port, hostHdr := uint16(80), n.name
	if r.IntN(20) == 0 {
		port, hostHdr = 8080, n.name+":8080"
	}
	g.addName(n.name)
	client := h.browser
	if r.IntN(2) == 0 {
		client = h.tool
	}
	c := g.outbound(s, start, h, srv, g.useV6(h, srv), port)
	c.handshake(c.jitter(200e3))
	requests := 1
	if r.IntN(3) == 0 {
		requests += r.IntN(4)
	}
	for i := range requests {
		res := &resources[r.IntN(len(resources))]
		path := res.paths[r.IntN(len(res.paths))]
		c.t += c.lan/4 + c.jitter(400e3)
		g.scratch = appendRequest(g.scratch[:0], path, hostHdr, client)
		c.send(0, g.scratch)
		c.t += c.wan + c.jitter(srv.proc)
		// The body fits the budget: about 1.5 packets per segment.
		room := (budget - len(c.s.pk) - 8) * c.ep[1].segSize * 2 / 3
		size := int(logUniform(r, res.lo, res.hi))
		size = max(min(size, room), 100)
		status, length := "200 OK", size
		if i > 0 && r.IntN(4) == 0 {
			status, size, length = "304 Not Modified", 0, -1
		}
		g.scratch = appendResponseHead(g.scratch[:0], status, httpServers[srv.software], res.contentType, length, c.t, r.Uint32())
		g.scratch = g.appendBody(g.scratch, res, size)
		acked := c.send(1, g.scratch)
		if !acked {
			// A response of one segment: acknowledged when the delayed
			// ACK timer fires.
			c.t += c.lan + ms(logUniform(r, 0.05, 40))
			c.tcp(0, fACK, nil)
		}
		if i+1 < requests {
			c.t += ms(logUniform(r, 5, 1500))
		}
	}
	c.t += ms(logUniform(r, 50, 3000))
	c.closeTCP(0)
	g.flows[kHTTP]++
}

// appendPNG appends a PNG file of n bytes (n >= 57): signature, IHDR,
// one IDAT chunk of noise and IEND, with their CRCs.
func (g *gen) appendPNG(b []byte, n int) []byte {
	chunk := func(b []byte, typ string, data func([]byte) []byte) []byte {
		at := len(b)
		b = append(b, 0, 0, 0, 0)
		b = append(b, typ...)
		b = data(b)
		binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-8))
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[at+4:]))
	}
	b = append(b, "\x89PNG\r\n\x1a\n"...)
	b = chunk(b, "IHDR", func(b []byte) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(16+g.r.IntN(1024)))
		b = binary.BigEndian.AppendUint32(b, uint32(16+g.r.IntN(768)))
		return append(b, 8, 6, 0, 0, 0)
	})
	b = chunk(b, "IDAT", func(b []byte) []byte { return appendNoise(b, g.r, n-57) })
	return chunk(b, "IEND", func(b []byte) []byte { return b })
}

// appendJPEG appends a JPEG file of n bytes (n >= 40): SOI, a JFIF APP0
// segment, a start of scan, entropy-coded noise without markers, EOI.
func (g *gen) appendJPEG(b []byte, n int) []byte {
	b = append(b, 0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 72, 0, 72, 0, 0)
	b = append(b, 0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3f, 0)
	at := len(b)
	b = appendNoise(b, g.r, n-36)
	for i := at; i < len(b); i++ {
		if b[i] == 0xff {
			b[i] = 0xfe
		}
	}
	return append(b, 0xff, 0xd9)
}
