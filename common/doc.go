// Package common is goquiz's domain, and only that: the customer record
// and its delivery state (customer.go), a claim of records and the outcome
// of a delivery attempt, the failed attempt and its classes
// (publish.go), the store's backlog (status.go), the sync modes
// (sync.go), and the interfaces the programs are written against: Source,
// ChunkWriter and RejectWriter for loading (source.go), Queue for the
// store's side of delivery (queue.go), Publisher for the CRM
// (publish.go), and the observers told what delivery does (observe.go).
//
// The engines live in packages of their own beside it: common/load stores
// an input, common/deliver delivers the stored records, common/pace paces
// the requests to the CRM. Neither common nor they import a database
// driver, a CSV or an HTTP package: those live in goquiz/impl, one
// package per backend, and are wired together by the thin mains under
// goquiz/cmd.
package common
