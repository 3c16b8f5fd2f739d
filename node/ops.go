package node

import (
	"context"
	"fmt"
	"time"

	"github.com/flowfed/flowfed/keyvault"
	"github.com/flowfed/flowfed/share/intel"
	"github.com/flowfed/flowfed/share/pseudo"
	"github.com/flowfed/flowfed/share/usage"
)

// AddrMapper derives the address pseudonymizer of the epoch key in force at
// now (or of the key id when given) for mode, and returns it with the key's
// ID. The key bytes are cleared once the mapper holds its expanded form.
func AddrMapper(v *keyvault.Vault, mode pseudo.Mode, id keyvault.KeyID, now time.Time) (pseudo.AddrMapper, keyvault.KeyID, error) {
	if !mode.FormatPreserving() {
		return nil, keyvault.KeyID{}, fmt.Errorf("pseudonymization mode %s: want cryptopan, ipcrypt-pfx or ipcrypt-det", mode)
	}
	var ek keyvault.EpochKey
	var err error
	if id.IsZero() {
		ek, err = v.EpochFor(now)
	} else {
		ek, err = v.Key(id)
	}
	if err != nil {
		return nil, keyvault.KeyID{}, err
	}
	key := ek.PseudoKey(string(mode), mode.KeySize())
	defer clear(key)
	m, err := pseudo.NewAddrMapper(mode, key, pseudo.WithPrefixCache(4096))
	if err != nil {
		return nil, keyvault.KeyID{}, err
	}
	return m, ek.ID(), nil
}

// Ingest meters captures into pseudonymized flows in the node's store, under
// the epoch key in force now and the configured pseudonymization mode.
func (n *Node) Ingest(ctx context.Context, files []string) ([]IngestResult, error) {
	res, _, err := n.ingest(ctx, files)
	return res, err
}

func (n *Node) ingest(ctx context.Context, files []string) ([]IngestResult, string, error) {
	mode, err := pseudo.ParseMode(n.cfg.PseudoMode)
	if err != nil {
		return nil, "", fmt.Errorf("%w: pseudo_mode: %v", ErrConfig, err)
	}
	m, keyID, err := AddrMapper(n.vault, mode, keyvault.KeyID{}, n.now())
	if err != nil {
		return nil, "", err
	}
	names, err := NameKeyer(n.vault, keyID)
	if err != nil {
		return nil, "", err
	}
	shredded, err := ShreddedKeys(n.vault)
	if err != nil {
		return nil, "", err
	}
	res, err := Ingest(ctx, n.st, files, IngestOptions{Mapper: m, KeyID: keyID.String(), Mode: string(mode), Names: names, Shredded: shredded})
	return res, keyID.String(), err
}

// NameKeyer returns the keyed tokenizer of host names under an epoch key:
// what ingest stores instead of the names in label evidence, and what
// indicator names are matched through.
func NameKeyer(v *keyvault.Vault, id keyvault.KeyID) (func(string) string, error) {
	ek, err := v.Key(id)
	if err != nil {
		return nil, err
	}
	key := ek.PseudoKey("names", 32)
	defer clear(key)
	tk, err := pseudo.NewTokenizer(key, "flowfed/evidence-names/v1")
	if err != nil {
		return nil, err
	}
	return func(name string) string { return tk.Token(NormalizeName(name)) }, nil
}

// NewIndicator makes an indicator of this organisation: canonical value and
// deterministic id, origin, creation and validity from at, and the default
// usage policy (callers adjust it).
func NewIndicator(typ, value, org string, at time.Time) (intel.Indicator, error) {
	t, err := intel.ParseType(typ)
	if err != nil {
		return intel.Indicator{}, err
	}
	ind, err := intel.NewIndicator(t, value)
	if err != nil {
		return intel.Indicator{}, err
	}
	at = at.UTC()
	ind.Origin, ind.OriginName = org, org
	ind.Created, ind.Modified, ind.ValidFrom = at, at, at
	ind.Policy = usage.Default()
	return ind, nil
}

// ShreddedKeys returns the IDs of the vault's shredded epoch keys.
func ShreddedKeys(v *keyvault.Vault) (map[string]bool, error) {
	infos, err := v.List()
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, k := range infos {
		if k.State == keyvault.StateShredded {
			out[k.ID.String()] = true
		}
	}
	return out, nil
}
