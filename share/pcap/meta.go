package pcap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/flowfed/flowfed/share/capture"
	"github.com/flowfed/flowfed/share/pseudo"
)

// metaSchema is the version of the anonymization record.
const metaSchema = 1

// commentPrefix starts the pcapng section comment that holds the anonymization
// record; the JSON form of Metadata follows it.
const commentPrefix = "flowfed pcap anonymize "

// SidecarSuffix is appended to the name of a classic pcap output to name the file
// holding its anonymization record.
const SidecarSuffix = ".json"

// Metadata is the anonymization record of a capture: what [Deanonymize] needs to
// restore its addresses with the owner's key, and how it was made. It holds no key
// material and nothing from the input capture. A pcapng output carries it in its
// section comment, a classic pcap output in a sidecar file (name + SidecarSuffix).
type Metadata struct {
	Schema         int         `json:"schema"`
	Flowfed        string      `json:"flowfed_version"`
	Mode           pseudo.Mode `json:"mode"`
	KeyID          string      `json:"key_id"`
	KeepOUI        bool        `json:"keep_oui"`
	Passthrough    string      `json:"passthrough"` // as ParsePassthrough reads it
	Payload        PayloadMode `json:"payload"`
	KeepTCPOptions bool        `json:"keep_tcp_options"`
	// TimeShifted is set when timestamps were shifted; the shift itself is not
	// recorded, so that it stays unknown to recipients.
	TimeShifted bool   `json:"time_shifted"`
	TimeRound   string `json:"time_round,omitempty"`
}

// metadata returns the record of an anonymization with opts.
func (o *Options) metadata() Metadata {
	m := Metadata{
		Schema:         metaSchema,
		Flowfed:        o.Version,
		Mode:           o.mode(),
		KeyID:          o.KeyID,
		KeepOUI:        o.KeepOUI,
		Passthrough:    o.passthrough().String(),
		Payload:        o.Payload,
		KeepTCPOptions: o.KeepTCPOptions,
		TimeShifted:    o.TimeShift != 0,
	}
	if o.TimeRound > 0 {
		m.TimeRound = o.TimeRound.String()
	}
	return m
}

// comment returns the pcapng section comment holding m.
func (m Metadata) comment() string {
	b, _ := json.Marshal(m) // only strings, bools and numbers
	return commentPrefix + string(b)
}

// sidecar returns the sidecar file content holding m.
func (m Metadata) sidecar() []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

// parseMetadata decodes a record from JSON and checks the fields restoring needs.
func parseMetadata(b []byte) (Metadata, error) {
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return Metadata{}, fmt.Errorf("decoding anonymization record: %w", err)
	}
	if m.Schema != metaSchema {
		return Metadata{}, fmt.Errorf("decoding anonymization record: schema %d, want %d: %w", m.Schema, metaSchema, ErrNoMetadata)
	}
	if _, err := pseudo.ParseMode(string(m.Mode)); err != nil {
		return Metadata{}, fmt.Errorf("decoding anonymization record: %w", err)
	}
	if _, err := ParsePassthrough(m.Passthrough); err != nil {
		return Metadata{}, fmt.Errorf("decoding anonymization record: %w", err)
	}
	return m, nil
}

// shbPeek is how much of a pcapng file is looked at for the section comment: the
// comment we write is short, but a foreign one before it may not be.
const shbPeek = 64 << 10

// sectionComments returns the comments of the Section Header Block at the start of
// a pcapng file held in b (the first bytes of the file), or nil.
func sectionComments(b []byte) []string {
	if len(b) < 28 || string(b[:4]) != "\x0a\x0d\x0d\x0a" {
		return nil
	}
	var bo binary.ByteOrder
	switch string(b[8:12]) {
	case "\x4d\x3c\x2b\x1a":
		bo = binary.LittleEndian
	case "\x1a\x2b\x3c\x4d":
		bo = binary.BigEndian
	default:
		return nil
	}
	end := min(int(min(bo.Uint32(b[4:]), uint32(len(b)))), len(b)) - 4
	var out []string
	for o := 24; o+4 <= end; {
		code, l := bo.Uint16(b[o:]), int(bo.Uint16(b[o+2:]))
		if code == 0 || o+4+l > end {
			break
		}
		if code == 1 {
			out = append(out, string(b[o+4:o+4+l]))
		}
		o += 4 + (l+3)&^3
	}
	return out
}

// recordInComments finds the anonymization record among section comments.
func recordInComments(cs []string) (Metadata, bool, error) {
	for _, c := range cs {
		if rest, ok := strings.CutPrefix(c, commentPrefix); ok {
			m, err := parseMetadata([]byte(rest))
			return m, true, err
		}
	}
	return Metadata{}, false, nil
}

// ReadMetadata returns the anonymization record of the capture at path: from the
// section comment of a pcapng file, or from the sidecar file path+SidecarSuffix of
// a classic pcap file. It returns an error wrapping ErrNoMetadata when there is
// none.
func ReadMetadata(path string) (Metadata, error) {
	f, err := os.Open(path)
	if err != nil {
		return Metadata{}, fmt.Errorf("reading anonymization record: %w", err)
	}
	defer f.Close()
	head, err := bufio.NewReaderSize(f, shbPeek).Peek(shbPeek)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Metadata{}, fmt.Errorf("reading anonymization record: %w", err)
	}
	if bytes.HasPrefix(head, []byte("\x0a\x0d\x0d\x0a")) {
		m, found, err := recordInComments(sectionComments(head))
		if found || err != nil {
			return m, err
		}
	}
	b, err := os.ReadFile(path + SidecarSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return Metadata{}, fmt.Errorf("reading anonymization record of %s: no section comment and no %s: %w",
			path, path+SidecarSuffix, ErrNoMetadata)
	}
	if err != nil {
		return Metadata{}, fmt.Errorf("reading anonymization record: %w", err)
	}
	return parseMetadata(b)
}

// formatOf names the container of the first bytes of a file, or 0.
func formatOf(head []byte) capture.Format {
	if len(head) < 4 {
		return 0
	}
	switch string(head[:4]) {
	case "\x0a\x0d\x0d\x0a":
		return capture.FormatPcapng
	case "\xd4\xc3\xb2\xa1", "\xa1\xb2\xc3\xd4", "\x4d\x3c\xb2\xa1", "\xa1\xb2\x3c\x4d":
		return capture.FormatPcap
	}
	return 0
}
