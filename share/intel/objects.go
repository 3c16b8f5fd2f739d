package intel

import (
	"encoding/json"
	"time"

	"github.com/flowfed/flowfed/share/usage"
)

// Objects is a set of threat-intelligence objects: what an import returns
// and what the exporters write. Indicators and sightings are the modelled
// core; the other slices keep what is needed to write a document again in
// its own format without loss.
type Objects struct {
	Indicators []Indicator
	Sightings  []Sighting
	// Identities are the organisations that created or observed objects
	// (STIX identities, MISP Orgc, Org and sighting organisations).
	Identities []Identity
	// ObservedData are STIX observed-data objects.
	ObservedData []ObservedData
	// Markings are the STIX marking definitions of the source, TLP and
	// others (statements).
	Markings []MarkingDefinition
	// Extra are STIX objects flowfed does not model (malware,
	// relationship, course-of-action, SCOs, custom objects, and indicators
	// whose pattern it cannot evaluate), kept as received.
	Extra []RawObject
	// Events are the MISP events the indicators and sightings came in.
	Events []Event
	// SharingGroups are MISP sharing groups.
	SharingGroups []SharingGroup
	// Container is the envelope of the source document (a STIX bundle, a
	// TAXII envelope or server data file), or nil.
	Container *Container
}

// ImportResult is what an import returns: the objects imported and, per
// object, what could not be imported. The valid rest of a document is
// always imported.
type ImportResult struct {
	Objects
	Problems []Problem
}

func (r *ImportResult) problem(id string, err error) {
	r.Problems = append(r.Problems, Problem{ObjectID: id, Err: err})
}

// Identity is an organisation (a STIX identity, a MISP organisation).
type Identity struct {
	// ID is "identity--<uuid>"; for a MISP organisation the UUID is the
	// organisation's.
	ID    string
	Name  string
	Class string // STIX identity_class, "organization" for MISP orgs
	// Created and Modified are the identity object's times (for a MISP
	// organisation, the timestamp of the event it was first seen in).
	Created  time.Time
	Modified time.Time
	Raw      json.RawMessage
}

// ObservedData is a STIX observed-data object: raw observations that
// sightings can point at.
type ObservedData struct {
	ID             string
	CreatedBy      string
	Created        time.Time
	Modified       time.Time
	FirstObserved  time.Time
	LastObserved   time.Time
	NumberObserved int
	ObjectRefs     []string
	Policy         usage.Policy
	Raw            json.RawMessage
}

// MarkingDefinition is a STIX marking definition. TLP is set for the TLP 1.0
// and 2.0 definitions (by their well-known ids or their content), 0 for
// others such as statements.
type MarkingDefinition struct {
	ID        string
	Name      string
	TLP       usage.TLP
	Statement string
	Created   time.Time
	Raw       json.RawMessage
}

// RawObject is a STIX object kept as received.
type RawObject struct {
	Type      string
	ID        string
	Modified  time.Time // modified, else created, else zero (SCOs)
	CreatedBy string
	// Policy is derived from the object's markings, as for indicators.
	Policy usage.Policy
	Raw    json.RawMessage
}

// Org is a MISP organisation.
type Org struct {
	UUID string
	Name string
}

// IdentityID returns "identity--<uuid>", the STIX id flowfed uses for the
// organisation, or "" without a UUID.
func (o Org) IdentityID() string {
	if o.UUID == "" {
		return ""
	}
	return "identity--" + o.UUID
}

// Distribution is a MISP distribution level.
type Distribution int8

// MISP distribution levels.
const (
	DistUnset        Distribution = -1 // the source did not give one
	DistOrg          Distribution = 0  // your organisation only
	DistCommunity    Distribution = 1  // this community only
	DistConnected    Distribution = 2  // connected communities
	DistAll          Distribution = 3  // all communities
	DistSharingGroup Distribution = 4  // a sharing group
	DistInherit      Distribution = 5  // attributes: as the event
)

// Event is a MISP event: the envelope of attributes, objects and sightings.
// The attributes flowfed models become Indicators and Sightings; Raw keeps
// the event as received, including what flowfed does not model (context
// attributes, objects, galaxies, proposals).
type Event struct {
	UUID             string
	Info             string
	Date             string // YYYY-MM-DD
	Timestamp        time.Time
	PublishTimestamp time.Time
	Published        bool
	Distribution     Distribution
	// SharingGroup is the sharing group of a distribution-4 event (UUID or
	// "id:<n>").
	SharingGroup string
	ThreatLevel  int
	Analysis     int
	Org          Org // the organisation holding the event
	Orgc         Org // the organisation that created it
	Tags         []string
	// Policy is the event's usage policy (see the package documentation
	// for the mapping of tags and distribution).
	Policy usage.Policy
	// Modelled lists the UUIDs of the attributes imported as indicators.
	// Exporters leave out those whose indicator is not among the exported
	// objects (filtered by policy); the other attributes of Raw are
	// context and are written as received.
	Modelled []string
	// Raw is the event object (without the {"Event": ...} wrapper).
	Raw json.RawMessage
	// Manifest is the event's entry in a feed's manifest.json.
	Manifest json.RawMessage
	// Bare is set for an event read without the {"Event": ...} wrapper;
	// it is written back the same way.
	Bare bool
}

// SharingGroup is a MISP sharing group.
type SharingGroup struct {
	ID            string // local number
	UUID          string
	Name          string
	Releasability string
	Orgs          []SharingGroupOrg
	// AllOrgs is set when a server of the group shares with all its
	// organisations.
	AllOrgs bool
	Raw     json.RawMessage
}

// SharingGroupOrg is a member of a sharing group. Extend allows it to add
// members.
type SharingGroupOrg struct {
	Org    Org
	Extend bool
}

// ContainerKind names the shape of a STIX document.
type ContainerKind string

// Container kinds.
const (
	ContainerBundle ContainerKind = "bundle"       // {"type": "bundle", "objects": [...]}
	ContainerTAXII  ContainerKind = "taxii"        // a TAXII 2.1 envelope {"objects": [...], "more": ...}
	ContainerServer ContainerKind = "taxii-server" // a TAXII server data file (api roots, collections, objects, manifests)
	ContainerList   ContainerKind = "object-list"  // a bare JSON array of STIX objects
)

// Container is the envelope of an imported STIX document: the document
// with its object lists emptied, and for each list where it is and which
// objects it held in which order.
type Container struct {
	Kind  ContainerKind
	Raw   json.RawMessage
	Lists []ObjectList
}

// ObjectList is one list of objects in a Container.
type ObjectList struct {
	// Path leads from the document root to the list: object keys, and
	// array indices in decimal.
	Path []string
	// ID is the bundle id or TAXII collection id of the list.
	ID   string
	Refs []ObjectRef
}

// ObjectRef names one object version in an ObjectList.
type ObjectRef struct {
	ID       string
	Modified time.Time
}
