package csv

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// gzipReader decompresses gzip input and says, when it fails, that the
// input is a broken gzip stream and how: cut short, corrupt. Errors of
// reading the input itself are passed on as they are.
type gzipReader struct {
	gz    *gzip.Reader
	input *countingReader
}

// newGzipReader reads the gzip header from r, which reads from input.
func newGzipReader(r io.Reader, input *countingReader) (*gzipReader, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, gzipError(err, input)
	}
	return &gzipReader{gz: gz, input: input}, nil
}

func (g *gzipReader) Read(p []byte) (int, error) {
	n, err := g.gz.Read(p)
	if err != nil && err != io.EOF {
		err = gzipError(err, g.input)
	}
	return n, err
}

// gzipError describes err, an error of the gzip reader over input.
func gzipError(err error, input *countingReader) error {
	var corrupt flate.CorruptInputError
	switch {
	case input.err != nil && !errors.Is(input.err, io.EOF):
		return err // reading the input failed, not its decompression
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("broken gzip input: it ends early, the file is truncated (%w)", err)
	case errors.Is(err, gzip.ErrChecksum):
		return fmt.Errorf("broken gzip input: what it holds does not match its checksum, the file is corrupt (%w)", err)
	case errors.Is(err, gzip.ErrHeader):
		return fmt.Errorf("broken gzip input: its header is corrupt (%w)", err)
	case errors.As(err, &corrupt):
		return fmt.Errorf("broken gzip input: the file is corrupt (%w)", err)
	}
	return fmt.Errorf("gzip input: %w", err)
}
