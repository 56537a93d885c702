// Package common holds goquiz's domain: the customer record, its delivery
// state, the small interfaces the services are written against, and the
// business logic of both services (loading in load.go, delivering in
// deliver.go).
//
// It imports no database driver, no CSV and no HTTP package: those live in
// goquiz/impl, one package per backend, and are wired together by the thin
// mains under goquiz/cmd.
package common
