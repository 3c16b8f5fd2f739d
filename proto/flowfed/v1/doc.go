// Package flowfedv1 holds the generated Go code for flowfed's protobuf schema
// (package flowfed.v1): the records of the key vault today, the store and the wire
// messages as they are added. Only keyvault, internal/store and protocol import it;
// the rest of flowfed works with plain Go types.
package flowfedv1
