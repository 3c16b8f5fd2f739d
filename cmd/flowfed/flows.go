package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	readprogress "github.com/flowfed/flowfed/internal/progress"
	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/share/flow"
	"github.com/flowfed/flowfed/share/pseudo"
)

const flowsUsage = `
Usage: flowfed flows [--dir D] [--format table|jsonl|csv|zeek] [--raw] [--flow-config F] FILE...

Meters the bidirectional flows of pcap or pcapng captures and prints them without
storing anything: endpoints, packets and bytes per direction, TCP history and
connection state, the application protocol with its evidence, and (jsonl) the
sequence features of the first packets. Addresses are pseudonymized under the
current epoch key (which needs the vault) unless --raw is given; --raw is for the
owner's local analysis and must not be shared.

Formats: table (for people), jsonl (one JSON object per flow, after a first line
with the flow-meter settings), csv and zeek (the main columns of Zeek's conn.log:
ts, uid, endpoints, proto, service, duration, bytes, conn_state, history, packets).

Example:
  flowfed flows --dir ./node1 --format jsonl capture.pcapng > flows.jsonl
  flowfed flows --raw capture.pcap
`

func runFlows(ctx context.Context, e *env, args []string) error {
	fl := newFlagSet(e, "flows", flowsUsage)
	var df dataFlags
	df.register(fl, e)
	format := fl.String("format", "table", "output `format`: table, jsonl, csv or zeek")
	raw := fl.Bool("raw", false, "print raw addresses (local analysis only)")
	cfgFile := fl.String("flow-config", "", "flow-meter settings as a JSON `file`")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() == 0 {
		return usagef("no capture files given")
	}
	switch *format {
	case "table", "jsonl", "csv", "zeek":
	default:
		return usagef("--format: want table, jsonl, csv or zeek")
	}
	cfg, err := loadFlowConfig(*cfgFile)
	if err != nil {
		return err
	}
	var m pseudo.AddrMapper
	var keyID keyvault.KeyID
	if !*raw {
		if m, keyID, err = addrMapper(e, &df, keyvault.KeyID{}, pseudo.ModeCryptoPAn); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "# addresses pseudonymized under %s (cryptopan)\n", keyID)
	}

	out := bufio.NewWriterSize(e.stdout, 1<<16)
	defer out.Flush()
	var tw *tabwriter.Writer
	switch *format {
	case "table":
		tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "START\tPROTO\tSRC\tDST\tPKTS>\tPKTS<\tBYTES>\tBYTES<\tSTATE\tHISTORY\tLABEL\tEVIDENCE")
	case "jsonl":
		hdr := map[string]any{"flow_config": cfg, "pseudonymized": !*raw}
		if !*raw {
			hdr["key_id"], hdr["pseudo_mode"] = keyID.String(), string(pseudo.ModeCryptoPAn)
		}
		js, err := json.Marshal(hdr)
		if err != nil {
			return err
		}
		out.Write(append(js, '\n'))
	case "csv":
		out.WriteString(flow.ConnHeader(cfg, ','))
	case "zeek":
		out.WriteString(flow.ConnHeader(cfg, '\t'))
		if !*raw {
			fmt.Fprintf(out, "#flowfed-pseudo key=%s mode=%s\n", keyID, pseudo.ModeCryptoPAn)
		}
	}
	var buf []byte
	var werr error
	emit := func(f *flow.Flow) {
		if m != nil {
			f = f.Clone()
			f.Pseudonymize(m)
		}
		switch *format {
		case "table":
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n",
				time.Unix(0, f.Start).UTC().Format("2006-01-02T15:04:05.000"), protoName(f.Key.Proto),
				endpoint(f.Key.SrcAddr().String(), f.Key.SrcPort, f.Key.IPv6), endpoint(f.Key.DstAddr().String(), f.Key.DstPort, f.Key.IPv6),
				f.Orig.Packets, f.Resp.Packets, f.Orig.IPBytes, f.Resp.IPBytes, f.ConnState(), f.History(), f.Label, evidenceText(f))
		case "jsonl":
			b, err := json.Marshal(f)
			if err != nil && werr == nil {
				werr = err
			}
			out.Write(append(b, '\n'))
		case "csv":
			buf = f.AppendConn(buf[:0], ',')
			out.Write(buf)
		case "zeek":
			buf = f.AppendConn(buf[:0], '\t')
			out.Write(buf)
		}
	}
	failed := 0
	for _, name := range fl.Args() {
		stats, err := readFlows(ctx, name, cfg, progressLine(e), emit)
		if ctx.Err() != nil {
			return errInterrupted
		}
		if err != nil {
			failed++
			fmt.Fprintf(e.stderr, "%s: %v\n", name, err)
			continue
		}
		for _, d := range stats.Damage {
			fmt.Fprintf(e.stderr, "%s: damage: %s x%d (first at byte %d)\n", name, d.Kind, d.Count, d.Offset)
		}
	}
	if tw != nil {
		tw.Flush()
	}
	if werr != nil {
		return werr
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be read as captures (listed above)", failed, len(fl.Args()))
	}
	return nil
}

func protoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmp6"
	case 132:
		return "sctp"
	}
	return fmt.Sprint(p)
}

func endpoint(addr string, port uint16, v6 bool) string {
	if v6 {
		return fmt.Sprintf("[%s]:%d", addr, port)
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

// evidenceText is the most telling piece of label evidence for the table.
func evidenceText(f *flow.Flow) string {
	ev := f.Label.Evidence
	if ev == nil {
		return ""
	}
	for _, s := range []string{ev.TLSSNI, ev.DNSQuery, ev.HTTPHost, ev.SSHBanner, ev.Banner, ev.QUICVersion, ev.Detail} {
		if s != "" {
			return s
		}
	}
	return ""
}

// readFlows meters one capture file, reporting progress when report is set.
func readFlows(ctx context.Context, name string, cfg flow.Config, report func(string, int64, int64), emit func(*flow.Flow)) (flow.Stats, error) {
	if report == nil {
		return flow.ReadFile(ctx, name, cfg, emit)
	}
	f, err := os.Open(name)
	if err != nil {
		return flow.Stats{}, fmt.Errorf("opening capture: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return flow.Stats{}, err
	}
	return flow.ReadCapture(ctx, &readprogress.Reader{R: f, Name: name, Total: fi.Size(), Report: report}, cfg, emit)
}
