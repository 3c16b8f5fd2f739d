package synth

import (
	"encoding/binary"
	"strings"
)

// Algorithm lists of SSH KEXINIT messages, as OpenSSH sends them.
var (
	sshKexClientPQ = "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,mlkem768x25519-sha256," +
		"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," +
		"diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512," +
		"diffie-hellman-group14-sha256,ext-info-c,kex-strict-c-v00@openssh.com"
	sshKexClient = "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384," +
		"ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512," +
		"diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-c,kex-strict-c-v00@openssh.com"
	sshKexServer = "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256," +
		"curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," +
		"diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512," +
		"diffie-hellman-group14-sha256,kex-strict-s-v00@openssh.com"
	sshHostKeysClient = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com," +
		"ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com," +
		"sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com," +
		"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256," +
		"ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com," +
		"rsa-sha2-512,rsa-sha2-256"
	sshHostKeysServer = "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519"
	sshCiphers        = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
	sshMACs           = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com," +
		"hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com," +
		"hmac-sha2-256,hmac-sha2-512,hmac-sha1"
)

// Sizes of post-quantum SSH key exchange values (sntrup761x25519).
const (
	sntrupClient = 1158 + 32
	sntrupServer = 1039 + 32
)

// appendSSHPacket frames payload as an unencrypted SSH binary packet.
func (g *gen) appendSSHPacket(b, payload []byte) []byte {
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(payload)+pad))
	b = append(b, byte(pad))
	b = append(b, payload...)
	return appendRandom(b, g.r, pad)
}

// sshEnc returns the wire size of an encrypted packet (chacha20-poly1305)
// with a payload of p bytes.
func sshEnc(p int) int {
	n := 1 + p + 4
	n += -n & 7
	return 4 + n + 16
}

// appendSSHEncrypted appends encrypted packets of the given payload sizes.
func (g *gen) appendSSHEncrypted(b []byte, payloads ...int) []byte {
	for _, p := range payloads {
		b = appendNoise(b, g.r, sshEnc(p))
	}
	return b
}

// appendKexinit appends the payload of a KEXINIT message.
func (g *gen) appendKexinit(b []byte, kex, hostKeys, comp string) []byte {
	b = append(b, 20)
	b = appendRandom(b, g.r, 16)
	for _, l := range []string{kex, hostKeys, sshCiphers, sshCiphers, sshMACs, sshMACs, comp, comp, "", ""} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(l)))
		b = append(b, l...)
	}
	return append(b, 0, 0, 0, 0, 0)
}

// appendSSHString appends an SSH string of n random bytes.
func (g *gen) appendSSHString(b []byte, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return appendRandom(b, g.r, n)
}

// ssh writes an SSH connection: identification lines, key exchange,
// authentication, then an interactive session (keystrokes echoed, command
// output) or a file transfer, and the teardown.
func (g *gen) ssh(s *session, start int64, budget int) {
	r := g.r
	h := g.pickHost()
	i := r.IntN(len(g.w.ssh))
	srv := &g.w.servers[g.w.ssh[i]]
	c := g.outbound(s, start, h, srv, g.useV6(h, srv), 22)
	c.handshake(c.jitter(300e3))
	serverID := sshServers[srv.software]
	pq := h.pqSSH && !strings.Contains(serverID, "_8.4")

	// Identification lines: the client's at once, the server's when its
	// accept returns.
	c.t += c.jitter(400e3)
	c.tcp(0, fPSH|fACK, []byte(h.sshClient+"\r\n"))
	c.t += c.wan + c.jitter(3e6)
	c.tcp(1, fPSH|fACK, []byte(serverID+"\r\n"))
	// KEXINIT both ways.
	c.t += c.lan + c.jitter(500e3)
	kex := sshKexClient
	if pq {
		kex = sshKexClientPQ
	}
	g.tmp = g.appendKexinit(g.tmp[:0], kex, sshHostKeysClient, "none,zlib@openssh.com,zlib")
	g.scratch = g.appendSSHPacket(g.scratch[:0], g.tmp)
	c.send(0, g.scratch)
	c.t += c.jitter(200e3)
	g.tmp = g.appendKexinit(g.tmp[:0], sshKexServer, sshHostKeysServer, "none,zlib@openssh.com")
	g.scratch = g.appendSSHPacket(g.scratch[:0], g.tmp)
	c.send(1, g.scratch)
	// ECDH (or hybrid post-quantum) exchange and NEWKEYS.
	c.t += c.lan + c.jitter(2e6)
	qc, qs := 32, 32
	if pq {
		qc, qs = sntrupClient, sntrupServer
	}
	g.tmp = g.appendSSHString(append(g.tmp[:0], 30), qc)
	g.scratch = g.appendSSHPacket(g.scratch[:0], g.tmp)
	c.send(0, g.scratch)
	c.t += c.wan + c.jitter(4e6)
	g.tmp = append(g.tmp[:0], 31)
	g.tmp = binary.BigEndian.AppendUint32(g.tmp, 51)
	g.tmp = append(g.tmp, 0, 0, 0, 11)
	g.tmp = append(g.tmp, "ssh-ed25519"...)
	g.tmp = g.appendSSHString(g.tmp, 32)
	g.tmp = g.appendSSHString(g.tmp, qs)
	g.tmp = binary.BigEndian.AppendUint32(g.tmp, 83)
	g.tmp = append(g.tmp, 0, 0, 0, 11)
	g.tmp = append(g.tmp, "ssh-ed25519"...)
	g.tmp = g.appendSSHString(g.tmp, 64)
	g.scratch = g.appendSSHPacket(g.scratch[:0], g.tmp)
	g.scratch = g.appendSSHPacket(g.scratch, []byte{21})
	c.send(1, g.scratch)
	c.t += c.lan + c.jitter(1e6)
	g.scratch = g.appendSSHPacket(g.scratch[:0], []byte{21})
	g.scratch = g.appendSSHEncrypted(g.scratch, 17) // SERVICE_REQUEST
	c.send(0, g.scratch)
	// Authentication by public key and the session channel, as a
	// sequence of (direction, payload sizes) exchanges.
	steps := []struct {
		d     int
		sizes []int
	}{
		{1, []int{200 + r.IntN(200), 17}}, // EXT_INFO, SERVICE_ACCEPT
		{0, []int{120 + r.IntN(60)}},      // USERAUTH_REQUEST (query)
		{1, []int{60 + r.IntN(20)}},       // USERAUTH_PK_OK
		{0, []int{200 + r.IntN(80)}},      // USERAUTH_REQUEST (signed)
		{1, []int{1}},                     // USERAUTH_SUCCESS
		{0, []int{24}},                    // CHANNEL_OPEN
		{1, []int{500 + r.IntN(500), 17}}, // hostkeys GLOBAL_REQUEST, OPEN_CONFIRMATION
		{0, []int{280 + r.IntN(60), 40, 20}},
		{1, []int{9, 5, 300 + r.IntN(1200)}}, // WINDOW_ADJUST, CHANNEL_SUCCESS, banner and prompt
	}
	for _, st := range steps {
		c.t += c.delay(1-st.d) + c.jitter(800e3)
		g.scratch = g.appendSSHEncrypted(g.scratch[:0], st.sizes...)
		if !c.send(st.d, g.scratch) && st.d == 1 {
			c.t += c.lan + c.jitter(200e3)
			c.tcp(0, fACK, nil)
		}
	}
	left := budget - len(c.s.pk) - 10
	if r.IntN(10) < 3 {
		// A file transfer (scp or sftp): bulk data one way.
		d := r.IntN(2)
		seg := c.ep[d].segSize
		size := max(min(int(logUniform(r, 30e3, 3e6)), left*seg*2/3), 2000)
		c.t += c.delay(1-d) + c.jitter(5e6)
		g.scratch = g.scratch[:0]
		for n := size; n > 0; n -= 32768 {
			g.scratch = g.appendSSHEncrypted(g.scratch, min(n, 32768)+9)
		}
		c.send(d, g.scratch)
	} else {
		// Typing: each keystroke is echoed and acknowledged; a command
		// ends with output.
		keys := max(min(3+r.IntN(120), left/3), 2)
		for k := 0; k < keys; {
			word := min(3+r.IntN(12), keys-k)
			for j := 0; j < word; j++ {
				c.t += ms(logUniform(r, 60, 450))
				c.tcp(0, fPSH|fACK, g.appendSSHEncrypted(g.scratch[:0], 9))
				c.t += c.wan + c.jitter(1e6)
				c.tcp(1, fPSH|fACK, g.appendSSHEncrypted(g.scratch[:0], 9))
				c.t += c.lan + ms(logUniform(r, 0.1, 40))
				c.tcp(0, fACK, nil)
			}
			k += word
			if k < keys && r.IntN(2) == 0 {
				out := int(logUniform(r, 40, 12000))
				c.t += c.jitter(20e6)
				g.scratch = g.appendSSHEncrypted(g.scratch[:0], out+9)
				if !c.send(1, g.scratch) {
					c.t += c.lan + ms(logUniform(r, 0.1, 40))
					c.tcp(0, fACK, nil)
				}
			}
			c.t += ms(logUniform(r, 300, 15000))
		}
	}
	// exit: the server reports the exit status and closes the channel.
	c.t += ms(logUniform(r, 200, 3000))
	c.tcp(0, fPSH|fACK, g.appendSSHEncrypted(g.scratch[:0], 9))
	c.t += c.wan + c.jitter(3e6)
	c.tcp(1, fPSH|fACK, g.appendSSHEncrypted(g.scratch[:0], 9, 30, 5, 5))
	c.t += c.lan + c.jitter(500e3)
	c.tcp(0, fPSH|fACK, g.appendSSHEncrypted(g.scratch[:0], 5))
	c.t += c.jitter(300e3)
	c.closeTCP(0)
	g.flows[kSSH]++
}
