package label

import "bytes"

// Line-oriented protocols: HTTP and the protocols that share its message
// syntax (RTSP, SIP, SSDP), SSH identification lines, SMTP and FTP
// greetings and commands, NATS.

// Bounds of the text parsers.
const (
	maxMethod = 24   // longest request method accepted
	maxLine   = 2048 // longest first line looked at before giving up
)

// line returns the first line of b without its line end (CRLF or LF),
// and whether the line end was found within maxLine bytes.
func line(b []byte) (l []byte, complete bool) {
	n := min(len(b), maxLine)
	i := bytes.IndexByte(b[:n], '\n')
	if i < 0 {
		return b[:n], false
	}
	l = b[:i]
	if len(l) > 0 && l[len(l)-1] == '\r' {
		l = l[:len(l)-1]
	}
	return l, true
}

// printable reports whether b holds only printable ASCII and tabs.
func printable(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c > 0x7e {
			return false
		}
	}
	return true
}

// hasPrefixFold reports whether b starts with the upper-case ASCII prefix,
// ignoring the case of b.
func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether b contains the upper-case ASCII word,
// ignoring the case of b.
func containsFold(b []byte, word string) bool {
	for i := 0; i+len(word) <= len(b); i++ {
		if hasPrefixFold(b[i:], word) {
			return true
		}
	}
	return false
}

// prefixOf reports whether b (shorter than s) is a prefix of s: a message
// that may still become s once more bytes arrive.
func prefixOf(b []byte, s string) bool {
	return len(b) < len(s) && string(b) == s[:len(b)]
}

// textVersion names the message syntaxes that share HTTP's first line.
type textVersion uint8

const (
	verNone textVersion = iota
	verHTTP
	verRTSP
	verSIP
)

// versionOf recognises the protocol version token of a request or
// status line.
func versionOf(v []byte) textVersion {
	switch string(v) {
	case "HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/2.0":
		return verHTTP
	case "RTSP/1.0", "RTSP/2.0":
		return verRTSP
	case "SIP/2.0":
		return verSIP
	}
	return verNone
}

// requestLine is the parsed first line of a request.
type requestLine struct {
	method, target, version []byte
	kind                    textVersion
}

// parseRequestLine parses "METHOD SP target SP version" ending in CRLF or
// LF. It returns more when b is a consistent prefix of such a line.
func parseRequestLine(b []byte) (r requestLine, v verdict) {
	i := 0
	for i < len(b) && i <= maxMethod && (('A' <= b[i] && b[i] <= 'Z') || b[i] == '-' || b[i] == '_') {
		i++
	}
	switch {
	case i == len(b) && i <= maxMethod:
		return r, more
	case i == 0 || i > maxMethod || b[i] != ' ':
		return r, no
	}
	r.method = b[:i]
	j := i + 1
	for j < len(b) && j < maxLine && b[j] > ' ' && b[j] != 0x7f {
		j++
	}
	switch {
	case j == len(b) && j < maxLine:
		return r, more
	case j == i+1 || j >= maxLine || b[j] != ' ':
		return r, no
	}
	r.target = b[i+1 : j]
	k := j + 1
	end := min(len(b), k+10)
	e := bytes.IndexByte(b[k:end], '\n')
	if e < 0 {
		if end == len(b) && len(b)-k < 10 && versionPrefix(b[k:]) {
			return r, more
		}
		return r, no
	}
	ver := b[k : k+e]
	if len(ver) > 0 && ver[len(ver)-1] == '\r' {
		ver = ver[:len(ver)-1]
	}
	if r.kind = versionOf(ver); r.kind == verNone {
		return r, no
	}
	r.version = ver
	return r, yes
}

// versionPrefix reports whether b may be the start of a known version.
func versionPrefix(b []byte) bool {
	for _, v := range [...]string{"HTTP/1.1", "RTSP/1.0", "SIP/2.0"} {
		n := min(len(b), len(v)-2) // the digits after the slash may differ
		if string(b[:n]) == v[:n] {
			return true
		}
	}
	return false
}

// parseStatusLine parses the start of "version SP 3DIGIT". It returns more
// when b is a consistent prefix.
func parseStatusLine(b []byte) (kind textVersion, version, status []byte, v verdict) {
	sp := bytes.IndexByte(b[:min(len(b), 9)], ' ')
	if sp < 0 {
		if len(b) < 9 && versionPrefix(b) {
			return verNone, nil, nil, more
		}
		return verNone, nil, nil, no
	}
	if kind = versionOf(b[:sp]); kind == verNone {
		return verNone, nil, nil, no
	}
	rest := b[sp+1:]
	for i := range min(len(rest), 4) {
		c := rest[i]
		if i < 3 && (c < '0' || c > '9') || i == 0 && c == '0' {
			return verNone, nil, nil, no
		}
		if i == 3 && c != ' ' && c != '\r' && c != '\n' {
			return verNone, nil, nil, no
		}
	}
	if len(rest) < 4 {
		return verNone, nil, nil, more
	}
	return kind, b[:sp], rest[:3], yes
}

// headers scans the header lines after the first line of an HTTP-like
// message for the Host and User-Agent headers. complete says that the
// blank line ending the headers was found.
func headers(b []byte) (host, agent []byte, complete bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil, false
	}
	b = b[i+1:]
	for len(b) > 0 {
		i = bytes.IndexByte(b, '\n')
		if i < 0 {
			return host, agent, false
		}
		l := b[:i]
		b = b[i+1:]
		if len(l) > 0 && l[len(l)-1] == '\r' {
			l = l[:len(l)-1]
		}
		switch {
		case len(l) == 0:
			return host, agent, true
		case host == nil && hasPrefixFold(l, "HOST:"):
			host = bytes.TrimSpace(l[5:])
		case agent == nil && hasPrefixFold(l, "USER-AGENT:"):
			agent = bytes.TrimSpace(l[11:])
		}
	}
	return host, agent, false
}

// urlHost returns the authority of an absolute URL ("rtsp://h:554/x"
// gives "h:554"), or nil.
func urlHost(target []byte) []byte {
	i := bytes.Index(target, []byte("://"))
	if i <= 0 || i > 8 {
		return nil
	}
	h := target[i+3:]
	if j := bytes.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if j := bytes.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:] // never keep credentials
	}
	return h
}

// textMessage parses an HTTP-like message (request or response) at the
// start of b and returns the protocol it belongs to, given the transport
// and the ports. On a match it takes the evidence. It returns more when
// the headers that hold evidence are not complete yet.
func (s *State) textMessage(b []byte, final, udp bool, sp, dp uint16) (Protocol, verdict) {
	known := s.proto != Unknown
	if kind, ver, status, v := parseStatusLine(b); v != no {
		if known && s.flags&fB != 0 {
			return Unknown, no // the first response was taken
		}
		if v == more {
			return Unknown, more
		}
		p := textProtocol(kind, nil, udp, sp, dp)
		if p == Unknown || (s.proto != Unknown && s.proto != p) {
			return Unknown, no
		}
		ev := s.evidence()
		setText(&ev.HTTPStatus, status)
		setText(&ev.Version, ver)
		s.flags |= fB
		return p, yes
	}
	if known && s.flags&fA != 0 {
		return Unknown, no // the first request was taken: this is a body or a later request
	}
	r, v := parseRequestLine(b)
	if v != yes {
		return Unknown, v
	}
	p := textProtocol(r.kind, &r, udp, sp, dp)
	if p == Unknown || (s.proto != Unknown && s.proto != p && !(s.proto == BitTorrent && p == HTTP)) {
		return Unknown, no
	}
	host, agent, complete := headers(b)
	if host == nil && p == RTSP {
		host = urlHost(r.target)
	}
	if !complete && !final && !udp && len(b) < MaxReassembly {
		return p, more // the rest of the headers may hold Host or User-Agent
	}
	ev := s.evidence()
	setText(&ev.HTTPMethod, r.method)
	setText(&ev.HTTPHost, host)
	setText(&ev.UserAgent, agent)
	setText(&ev.Version, r.version)
	if p == BitTorrent {
		setString(&ev.Detail, "tracker")
	}
	s.flags |= fA
	return p, yes
}

// textProtocol decides which protocol an HTTP-like message belongs to.
// r is nil for a response.
func textProtocol(kind textVersion, r *requestLine, udp bool, sp, dp uint16) Protocol {
	switch kind {
	case verSIP:
		return SIP
	case verRTSP:
		if udp {
			return Unknown
		}
		return RTSP
	case verHTTP:
		if udp {
			// HTTP over UDP is SSDP on its port, or a discovery request
			// anywhere (multicast M-SEARCH and NOTIFY, target "*").
			if sp == 1900 || dp == 1900 ||
				r != nil && string(r.target) == "*" && (string(r.method) == "M-SEARCH" || string(r.method) == "NOTIFY") {
				return SSDP
			}
			return Unknown
		}
		if r != nil && (bytes.HasPrefix(r.target, []byte("/announce")) || bytes.HasPrefix(r.target, []byte("/scrape"))) &&
			bytes.Contains(r.target, []byte("info_hash=")) {
			return BitTorrent
		}
		return HTTP
	}
	return Unknown
}

// sshLine checks an SSH identification line ("SSH-2.0-software comments").
func sshLine(b []byte) (id []byte, v verdict) {
	if len(b) < 8 {
		if prefixOf(b, "SSH-2.0-") || prefixOf(b, "SSH-1.") {
			return nil, more
		}
		return nil, no
	}
	if !bytes.HasPrefix(b, []byte("SSH-2.0-")) && !bytes.HasPrefix(b, []byte("SSH-1.99-")) &&
		!bytes.HasPrefix(b, []byte("SSH-1.5-")) {
		return nil, no
	}
	l, complete := line(b)
	if !complete {
		if len(b) < 255 && printable(b) {
			return nil, more
		}
		return nil, no
	}
	if len(l) > 255 || !printable(l) {
		return nil, no
	}
	return l, yes
}

// ssh takes an SSH identification line of direction d.
func (s *State) ssh(d int, b []byte) verdict {
	id, v := sshLine(b)
	if v != yes {
		return v
	}
	s.label(SSH)
	ev := s.evidence()
	if d == 0 {
		setText(&ev.SSHBanner, id)
		s.flags |= fA
	} else {
		setText(&ev.Banner, id)
		s.flags |= fB
	}
	if s.flags&(fA|fB) == fA|fB {
		s.done()
	}
	return yes
}

// replyLine checks an SMTP or FTP reply line "ddd SP text" or "ddd-text"
// and returns its code and the whole line.
func replyLine(b []byte) (code, l []byte, v verdict) {
	if len(b) < 4 {
		for _, c := range b {
			if c < '0' || c > '9' {
				return nil, nil, no
			}
		}
		return nil, nil, more
	}
	if b[0] < '1' || b[0] > '5' || b[1] < '0' || b[1] > '9' || b[2] < '0' || b[2] > '9' ||
		(b[3] != ' ' && b[3] != '-' && b[3] != '\r' && b[3] != '\n') {
		return nil, nil, no
	}
	l, complete := line(b)
	if !printable(l) {
		return nil, nil, no
	}
	if !complete {
		if len(b) < 512 {
			return nil, nil, more
		}
		return nil, nil, no
	}
	return b[:3], l, yes
}

// greeting takes a 220 greeting of direction d: SMTP or FTP when its text
// says so, else a candidate settled by the client's first command.
func (s *State) greeting(d int, b []byte) verdict {
	code, l, v := replyLine(b)
	if v != yes {
		return v
	}
	if string(code) != "220" {
		return no
	}
	text := l[min(len(l), 4):] // "220" alone is a complete reply line
	var p Protocol
	switch {
	case containsFold(text, "SMTP"):
		p = SMTP
	case containsFold(text, "FTP"):
		p = FTP
	}
	ev := s.evidence()
	setText(&ev.Banner, l)
	s.flags |= fA
	if p != Unknown {
		s.label(p)
		return yes
	}
	s.cand = candGreet
	if d == 1 {
		s.flags |= fGreetResp
	}
	return yes
}

// ftpCommands are FTP commands that a client sends first or early, and
// that SMTP does not have (AUTH is FTP's "AUTH TLS" here: SMTP's AUTH only
// follows EHLO).
var ftpCommands = [...]string{
	"USER", "AUTH", "FEAT", "SYST", "OPTS", "PASS", "ACCT", "CLNT", "HOST", "PWD", "CWD", "TYPE",
	"PASV", "EPSV", "PORT", "EPRT", "LIST", "NLST", "RETR", "STOR", "SITE", "MDTM", "SIZE", "MLSD",
}

// command takes a client's SMTP or FTP command line.
func (s *State) command(b []byte) verdict {
	l, complete := line(b)
	if !complete {
		if len(b) < 512 && printable(b) && len(b) > 0 && 'A' <= b[0] && b[0] <= 'Z' {
			return more
		}
		return no
	}
	if len(l) < 3 || !printable(l) {
		return no
	}
	if hasPrefixFold(l, "EHLO ") || hasPrefixFold(l, "HELO ") {
		if s.proto != Unknown && s.proto != SMTP {
			return no
		}
		s.label(SMTP)
		ev := s.evidence()
		setText(&ev.Command, l)
		s.flags |= fB
		return yes
	}
	if s.proto == SMTP {
		return no
	}
	for _, c := range ftpCommands {
		if hasPrefixFold(l, c) && (len(l) == len(c) || l[len(c)] == ' ') {
			s.label(FTP)
			setString(&s.evidence().Command, c)
			s.flags |= fB
			return yes
		}
	}
	return no
}

// settleGreeting decides a 220 greeting that named neither protocol and
// saw no telling command, from the port of the server that sent it.
func (s *State) settleGreeting(port uint16) {
	switch port {
	case 21, 990, 2121:
		s.label(FTP)
	case 25, 465, 587, 2525:
		s.label(SMTP)
	}
}

// nats takes a NATS INFO (server) or CONNECT (client) line.
func (s *State) nats(b []byte) verdict {
	var verb string
	switch {
	case bytes.HasPrefix(b, []byte("INFO {")):
		verb = "INFO"
	case bytes.HasPrefix(b, []byte("CONNECT {")):
		verb = "CONNECT"
	case prefixOf(b, "INFO {") || prefixOf(b, "CONNECT {"):
		return more
	default:
		return no
	}
	l, complete := line(b)
	if !complete && len(b) < MaxReassembly {
		return more
	}
	if !printable(l) {
		return no
	}
	s.label(NATS)
	ev := s.evidence()
	if verb == "INFO" {
		setText(&ev.Banner, l)
		s.flags |= fA
	} else {
		setString(&ev.Command, verb)
		s.flags |= fB
	}
	if s.flags&(fA|fB) == fA|fB {
		s.done()
	}
	return yes
}
