// Package common is goquiz's domain, and only that: the customer record,
// its versions and idempotency keys, its delivery states, a claimed record
// and the outcome of a delivery attempt (customer.go); a claim of records
// under a lease and the Queue that hands claims out and settles their
// outcomes (queue.go); the failed attempt and its classes, the CRM's
// announced budget and the Publisher that sends a customer to the CRM
// (publish.go); the input's rejected records and the interfaces loading
// is written against, Source, ChunkWriter and RejectWriter (source.go);
// the sync modes (sync.go); the store's backlog (status.go); the
// observers told what delivery does (observe.go); and the pause between
// tries of a store call (storepause.go).
//
// The engines live in packages of their own under it: common/load stores
// an input, common/deliver delivers the stored records, common/pace paces
// the requests to the CRM. Neither common nor they import a database
// driver, a CSV or an HTTP package: those live in goquiz/impl, one
// package per backend, and are wired together by the thin mains under
// goquiz/cmd.
package common
