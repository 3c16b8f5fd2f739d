package dataset

import "github.com/flowfed/flowfed/share/flow"

// Steps is the number of packet steps of a flow's sequence tensor.
const Steps = 128

// FeatureNames name the per-step features of the sequence tensor, in order.
// Values are exact, not scaled: models normalise them themselves.
var FeatureNames = []string{
	"dir",                             // 0 from the initiator, 1 from the responder
	"ip_len",                          // IP length in bytes
	"payload_len",                     // transport payload length in bytes
	"iat_us",                          // microseconds since the flow's previous packet
	"syn", "ack", "fin", "rst", "psh", // TCP flag bits (0 for other protocols)
}

// Features is len(FeatureNames).
const Features = 9

// Tensor writes the sequence features of r into x (Steps*Features values,
// row-major: step, then feature) and mask (Steps values: 1 where a packet
// is present, 0 for padding), and returns the number of steps present. x and
// mask are zeroed first; they must have the lengths above.
func Tensor(r *flow.Record, x, mask []float32) int {
	clear(x[:Steps*Features])
	clear(mask[:Steps])
	n := min(len(r.Seq), Steps)
	for i, s := range r.Seq[:n] {
		row := x[i*Features : (i+1)*Features : (i+1)*Features]
		if s.FromResp {
			row[0] = 1
		}
		row[1] = float32(s.IPLen)
		row[2] = float32(s.PayloadLen)
		row[3] = float32(s.IAT)
		row[4] = float32(s.Flags >> 1 & 1) // SYN
		row[5] = float32(s.Flags >> 4 & 1) // ACK
		row[6] = float32(s.Flags & 1)      // FIN
		row[7] = float32(s.Flags >> 2 & 1) // RST
		row[8] = float32(s.Flags >> 3 & 1) // PSH
		mask[i] = 1
	}
	return n
}
