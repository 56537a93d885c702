package main

import (
	"bufio"
	stdcsv "encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"

	"goquiz/impl/gen"
)

// writeUnique writes n customers with unique ids to path.
func writeUnique(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := gen.WriteCSV(w, n, 1); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeRepeating writes n rows to path of which every tenth repeats the id
// of an earlier row (with other values), spread over the whole file.
func writeRepeating(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := stdcsv.NewWriter(bw)
	_ = w.Write([]string{"id", "first_name", "last_name", "email", "phone"})
	rng := rand.New(rand.NewPCG(2, 3))
	var written int64
	var lastID int64
	for c := range gen.Customers(n, 2) {
		if written == n {
			break
		}
		if written%10 == 9 && lastID > 0 {
			dup := rng.Int64N(lastID) + 1
			_ = w.Write([]string{strconv.FormatInt(dup, 10), "Again", c.LastName, c.Email, c.Phone})
			written++
			if written == n {
				break
			}
		}
		lastID = c.ID
		_ = w.Write([]string{strconv.FormatInt(c.ID, 10), c.FirstName, c.LastName, c.Email, c.Phone})
		written++
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
