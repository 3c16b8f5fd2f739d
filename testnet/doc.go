// Package testnet runs several complete flowfed nodes in one process on 127.0.0.1,
// introduced to each other explicitly, for scenario tests and the `flowfed testnet`
// demonstration.
package testnet
