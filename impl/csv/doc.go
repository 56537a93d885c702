// Package csv reads customer records from strict RFC 4180 CSV input.
//
// The Reader streams its input: it holds at most one record in memory, and
// never more than the record size limit of it, however large or broken the
// input is. Input compressed with gzip is decompressed transparently.
//
// The input's character encoding is UTF-8 unless Options.Encoding names
// another, by its name in the WHATWG Encoding Standard (LookupEncoding):
// the text is then decoded to UTF-8 before it is scanned, so that quotes,
// delimiters and line breaks are found in the text, not in its bytes, and
// values are stored as UTF-8. A byte-order mark at the start (UTF-8's, or
// UTF-16's of either byte order) is skipped, and the encoding it marks is
// the one read. A record holding a sequence that does not decode is
// rejected with its line, the field it is in and the bytes, which its
// reject's text shows escaped as \xNN (see decoder). UTF-8 input is
// scanned as it is read, with no decoding step: its fields are checked
// for valid UTF-8 as before.
//
// Fields are separated by Options.Delimiter: a comma, a semicolon, a tab
// or a vertical bar; the RFC 4180 rules (quotes, doubled quotes, line
// breaks in quotes, strict rejection of stray quotes) hold for each.
//
// The first record is the header. It must name the columns id, first_name,
// last_name, email and phone, or the names Options.Columns maps these
// fields to (in any order, case-insensitively, surrounding spaces
// ignored); other columns are ignored. Every following record becomes
// a customer, or a reject when it is malformed or its values are invalid;
// reading then goes on with the next record. Blank lines are skipped. Lines
// are counted physically, the header being line 1, and a record is
// identified by the line where it starts. The size limit of a record
// counts its bytes once decoded to UTF-8.
//
// A reject's text is the record as read (decoded, for another encoding
// than UTF-8), always valid UTF-8: a byte that is not is written \xNN.
// RejectWriter writes rejects to a file that spreadsheets open safely.
//
// # Why not encoding/csv
//
// The standard library's encoding/csv reads the same format, and it does go
// on after a malformed record (a bare quote, text after a closing quote, a
// wrong number of fields) at the next line, reporting the line where the
// record started. It is not used here because:
//
//   - It has no record size limit. It gathers a whole line, and a quoted
//     field up to its closing quote, in memory however long it is: a quote
//     that never closes in a 10 GB file makes it hold all of the rest of the
//     file. This Reader keeps at most the size limit of a record and scans
//     the remainder without keeping it.
//   - It returns fields, not the text they came from: quotes and doubled
//     quotes are gone, CRLFs become LFs even inside quoted fields, and a
//     malformed record yields only the fields before the error. A reject
//     must carry the record as it was written; this Reader keeps that text
//     while it scans.
//   - A limit cannot be added from outside: cutting its input after so many
//     bytes leaves it in the middle of a record, and finding where the next
//     record starts takes following the quotes, which is a scanner of one's
//     own. This Reader scans a record too large to keep to its real end,
//     rejects it with the line where it starts, and goes on with the next
//     record, its line numbers still exact.
package csv
