// Package load is the parser's engine: Run reads an input (a
// common.Source) to its end and stores its customers in chunks through a
// common.ChunkWriter, one transaction a chunk, reporting the records that
// could not become customers to a common.RejectWriter. It owns the
// chunking, the overlap of reading and storing, and the counts of a load
// (Stats).
package load
