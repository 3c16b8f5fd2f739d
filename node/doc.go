// Package node is the flowfed daemon: the composition root that wires the local
// store, the key vault, the sharing policy and the libp2p host into one running
// member of a federation, and serves the admin API that the CLI talks to.
package node
