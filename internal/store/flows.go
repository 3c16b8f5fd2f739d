package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	pb "github.com/flowfed/flowfed/proto/flowfed/v1"
	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/label"
	"github.com/flowfed/flowfed/share/packet"
)

// stepLen is the size of one packed sequence step (see FlowRecord.seq).
const stepLen = 10

// flowKey is the store key of the n-th flow of an ingest: the first 16 bytes of
// the capture's hash and n, so that redoing an interrupted ingest writes the same
// keys again instead of adding duplicates.
func flowKey(ingest [32]byte, n uint64) []byte {
	k := make([]byte, 24)
	copy(k, ingest[:16])
	binary.BigEndian.PutUint64(k[16:], n)
	return k
}

// ErrRawAddresses is returned by PutFlows for a record without a key ID: the store
// keeps pseudonymized flows only.
var ErrRawAddresses = fmt.Errorf("refusing to store a flow with raw addresses")

// PutFlows stores flows first, first+1, ... of an ingest in one transaction. When
// done is non-nil the ingest record is written in the same transaction, marking
// the ingest complete, so that a crash leaves either all of it or an ingest to redo.
func (s *Store) PutFlows(ingest [32]byte, first uint64, recs []flow.Record, done *Ingest) error {
	vals := make([][]byte, len(recs))
	for i := range recs {
		if recs[i].KeyID == "" {
			return ErrRawAddresses
		}
		b, err := proto.Marshal(flowToProto(&recs[i], ingest))
		if err != nil {
			return fmt.Errorf("encoding flow: %w", err)
		}
		vals[i] = b
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFlows)
		for i, v := range vals {
			if err := b.Put(flowKey(ingest, first+uint64(i)), v); err != nil {
				return err
			}
		}
		if done != nil {
			in := *done
			in.Complete = true
			if in.Finished.IsZero() {
				in.Finished = time.Now()
			}
			return putIngest(tx, &in)
		}
		return nil
	})
}

// ForEachFlow calls fn for every stored flow, in ingest and flow order, inside one
// read transaction; fn must not call back into the store. It stops at fn's first
// error and returns it.
func (s *Store) ForEachFlow(fn func(*flow.Record) error) error {
	return s.ForEachFlowFrom(func(_ string, r *flow.Record) error { return fn(r) })
}

// ForEachFlowFrom is ForEachFlow that also passes the name of the capture each
// flow was ingested from (its file's base name, or the hash prefix when the
// ingest record is missing).
func (s *Store) ForEachFlowFrom(fn func(capture string, r *flow.Record) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		names := map[[16]byte]string{}
		err := tx.Bucket(bucketIngests).ForEach(func(k, v []byte) error {
			var r pb.IngestRecord
			if len(k) == 32 && proto.Unmarshal(v, &r) == nil {
				names[[16]byte(k[:16])] = r.Name
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketFlows).ForEach(func(k, v []byte) error {
			if len(k) != 24 {
				return fmt.Errorf("%w: flow key %x", ErrCorrupt, k)
			}
			src, ok := names[[16]byte(k[:16])]
			if !ok {
				src = fmt.Sprintf("%x", k[:16])
			}
			var m pb.FlowRecord
			if err := proto.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("%w: flow %x: %v", ErrCorrupt, k, err)
			}
			r, err := flowFromProto(&m)
			if err != nil {
				return fmt.Errorf("flow %x: %w", k, err)
			}
			return fn(src, &r)
		})
	})
}

// FlowCount is the number of stored flows.
func (s *Store) FlowCount() (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketFlows).Stats().KeyN
		return nil
	})
	return n, err
}

func addrBytes(a [16]byte, v6 bool) []byte {
	if v6 {
		return append([]byte(nil), a[:]...)
	}
	return append([]byte(nil), a[:4]...)
}

func dirToProto(c *flow.Counters) *pb.FlowDirection {
	return &pb.FlowDirection{
		Packets:      c.Packets,
		IpBytes:      c.IPBytes,
		PayloadBytes: c.PayloadBytes,
		StreamBytes:  c.StreamBytes,
		TcpFlags:     append([]uint32(nil), c.Flags[:]...),
		Retransmits:  c.Retransmits,
		OutOfOrder:   c.OutOfOrder,
		ZeroWindows:  c.ZeroWindows,
		Gaps:         c.Gaps,
		Fragments:    c.Fragments,
		Isn:          c.ISN,
	}
}

func dirFromProto(d *pb.FlowDirection) (flow.Counters, error) {
	var c flow.Counters
	if d == nil {
		return c, nil
	}
	if len(d.TcpFlags) != 0 && len(d.TcpFlags) != len(c.Flags) {
		return c, fmt.Errorf("%w: %d TCP flag counters", ErrCorrupt, len(d.TcpFlags))
	}
	c.Packets, c.IPBytes, c.PayloadBytes, c.StreamBytes = d.Packets, d.IpBytes, d.PayloadBytes, d.StreamBytes
	copy(c.Flags[:], d.TcpFlags)
	c.Retransmits, c.OutOfOrder, c.ZeroWindows, c.Gaps, c.Fragments, c.ISN = d.Retransmits, d.OutOfOrder, d.ZeroWindows, d.Gaps, d.Fragments, d.Isn
	return c, nil
}

// evidenceFields names the label evidence fields as stored.
func evidenceFields(e *label.Evidence) map[string]*string {
	return map[string]*string{
		"dns_query": &e.DNSQuery, "dns_answer": &e.DNSAnswer, "dns_rcode": &e.DNSRcode,
		"http_host": &e.HTTPHost, "http_method": &e.HTTPMethod, "http_status": &e.HTTPStatus,
		"user_agent": &e.UserAgent, "tls_sni": &e.TLSSNI, "tls_alpn": &e.TLSALPN,
		"tls_version": &e.TLSVersion, "ssh_banner": &e.SSHBanner, "quic_version": &e.QUICVersion,
		"banner": &e.Banner, "command": &e.Command, "version": &e.Version, "detail": &e.Detail,
	}
}

func flowToProto(r *flow.Record, ingest [32]byte) *pb.FlowRecord {
	k := &r.Key
	m := &pb.FlowRecord{
		KeyId:            r.KeyID,
		Src:              addrBytes(k.Src, k.IPv6),
		Dst:              addrBytes(k.Dst, k.IPv6),
		SrcPort:          uint32(k.SrcPort),
		DstPort:          uint32(k.DstPort),
		Proto:            uint32(k.Proto),
		IcmpId:           uint32(k.ICMPID),
		StartUnixNano:    r.Start,
		EndUnixNano:      r.End,
		Orig:             dirToProto(&r.Orig),
		Resp:             dirToProto(&r.Resp),
		History:          r.History,
		ConnState:        r.ConnState,
		EndReason:        r.Reason.String(),
		Continued:        r.Continued,
		IcmpErrors:       r.ICMPErrors,
		Carries:          uint32(r.Carries),
		FlowConfigDigest: r.ConfigDigest,
		IngestSha256:     ingest[:],
	}
	for _, v := range k.VLAN {
		if v != 0 {
			m.Vlan = append(m.Vlan, uint32(v))
		}
	}
	if t := k.Tunnel; t.Kind != 0 {
		m.Tunnel = &pb.FlowTunnel{Kind: uint32(t.Kind), Depth: uint32(t.Depth), Id: t.ID,
			OuterSrc: addrBytes(t.OuterSrc, t.OuterIPv6), OuterDst: addrBytes(t.OuterDst, t.OuterIPv6)}
	}
	if r.Label.Protocol != label.Unknown || r.Label.Source != label.SourceNone {
		l := &pb.FlowLabel{Protocol: r.Label.Protocol.String(), Source: r.Label.Source.String()}
		if r.Label.Evidence != nil {
			l.Evidence = map[string]string{}
			for name, p := range evidenceFields(r.Label.Evidence) {
				if *p != "" {
					l.Evidence[name] = *p
				}
			}
		}
		m.Label = l
	}
	seq := make([]byte, 0, len(r.Seq)*stepLen)
	for _, s := range r.Seq {
		var dir byte
		if s.FromResp {
			dir = 1
		}
		seq = append(seq, dir, s.Flags)
		seq = binary.BigEndian.AppendUint16(seq, s.IPLen)
		seq = binary.BigEndian.AppendUint16(seq, s.PayloadLen)
		seq = binary.BigEndian.AppendUint32(seq, s.IAT)
	}
	m.Seq = seq
	return m
}

func addrFrom(b []byte) (a [16]byte, v6 bool, err error) {
	switch len(b) {
	case 4:
		copy(a[:], b)
		return a, false, nil
	case 16:
		copy(a[:], b)
		return a, true, nil
	}
	return a, false, fmt.Errorf("%w: a %d-byte address", ErrCorrupt, len(b))
}

func flowFromProto(m *pb.FlowRecord) (flow.Record, error) {
	var r flow.Record
	var err error
	k := &r.Key
	var v6s, v6d bool
	if k.Src, v6s, err = addrFrom(m.Src); err != nil {
		return r, err
	}
	if k.Dst, v6d, err = addrFrom(m.Dst); err != nil {
		return r, err
	}
	if v6s != v6d {
		return r, fmt.Errorf("%w: endpoints of different address families", ErrCorrupt)
	}
	k.IPv6 = v6s
	if m.SrcPort > 0xffff || m.DstPort > 0xffff || m.Proto > 0xff || m.IcmpId > 0xffff || len(m.Vlan) > len(k.VLAN) {
		return r, fmt.Errorf("%w: flow key out of range", ErrCorrupt)
	}
	k.SrcPort, k.DstPort, k.Proto, k.ICMPID = uint16(m.SrcPort), uint16(m.DstPort), uint8(m.Proto), uint16(m.IcmpId)
	for i, v := range m.Vlan {
		k.VLAN[i] = uint16(v)
	}
	if t := m.Tunnel; t != nil {
		// Only a tunnel of some kind is written, with its kind and depth
		// in range; anything else was not written by us.
		if t.Kind == 0 || t.Kind > 0xff || t.Depth > 0xff {
			return r, fmt.Errorf("%w: tunnel kind %d depth %d", ErrCorrupt, t.Kind, t.Depth)
		}
		k.Tunnel.Kind, k.Tunnel.Depth, k.Tunnel.ID = packet.Kind(t.Kind), uint8(t.Depth), t.Id
		var v6o, v6p bool
		if k.Tunnel.OuterSrc, v6o, err = addrFrom(t.OuterSrc); err != nil {
			return r, err
		}
		if k.Tunnel.OuterDst, v6p, err = addrFrom(t.OuterDst); err != nil {
			return r, err
		}
		if v6o != v6p {
			return r, fmt.Errorf("%w: tunnel endpoints of different address families", ErrCorrupt)
		}
		k.Tunnel.OuterIPv6 = v6o
	}
	r.Start, r.End = m.StartUnixNano, m.EndUnixNano
	if r.Orig, err = dirFromProto(m.Orig); err != nil {
		return r, err
	}
	if r.Resp, err = dirFromProto(m.Resp); err != nil {
		return r, err
	}
	r.History, r.ConnState, r.Continued = m.History, m.ConnState, m.Continued
	if err := r.Reason.UnmarshalText([]byte(m.EndReason)); err != nil {
		return r, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	r.ICMPErrors, r.Carries = m.IcmpErrors, packet.Kind(m.Carries)
	if l := m.Label; l != nil {
		if err := r.Label.Protocol.UnmarshalText([]byte(l.Protocol)); err != nil {
			return r, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if err := r.Label.Source.UnmarshalText([]byte(l.Source)); err != nil {
			return r, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if len(l.Evidence) > 0 {
			ev := &label.Evidence{}
			fields := evidenceFields(ev)
			for name, v := range l.Evidence {
				if p := fields[name]; p != nil {
					*p = v
				}
			}
			r.Label.Evidence = ev
		}
	}
	if len(m.Seq)%stepLen != 0 || len(m.Seq)/stepLen > flow.MaxSeqLen {
		return r, fmt.Errorf("%w: sequence of %d bytes", ErrCorrupt, len(m.Seq))
	}
	r.Seq = make([]flow.Step, len(m.Seq)/stepLen)
	for i := range r.Seq {
		b := m.Seq[i*stepLen:]
		r.Seq[i] = flow.Step{FromResp: b[0] == 1, Flags: b[1], IPLen: binary.BigEndian.Uint16(b[2:]),
			PayloadLen: binary.BigEndian.Uint16(b[4:]), IAT: binary.BigEndian.Uint32(b[6:])}
	}
	r.ConfigDigest, r.KeyID = m.FlowConfigDigest, m.KeyId
	return r, nil
}

// DeleteFlows deletes every stored flow for which match returns true, in one
// transaction, and returns how many it deleted.
func (s *Store) DeleteFlows(match func(*flow.Record) bool) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFlows)
		var del [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var m pb.FlowRecord
			if err := proto.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("%w: flow %x: %v", ErrCorrupt, k, err)
			}
			r, err := flowFromProto(&m)
			if err != nil {
				return fmt.Errorf("flow %x: %w", k, err)
			}
			if match(&r) {
				del = append(del, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range del {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(del)
		return nil
	})
	return n, err
}
