package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// input is what 'parser ARG' reads: a file, standard input, or a number of
// customers to generate.
type input struct {
	name     string
	r        io.Reader
	size     int64 // -1 when unknown
	generate int64 // > 0: generate this many customers instead
	close    func() error
}

// openInput resolves the argument: "-" is standard input, an existing path
// is a file, and a bare positive integer that names no file is a count of
// customers to generate.
func openInput(arg string) (*input, error) {
	if arg == "-" {
		return &input{name: "standard input", r: os.Stdin, size: -1, close: func() error { return nil }}, nil
	}
	f, err := os.Open(arg)
	if err == nil {
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read %s: %w", arg, err)
		}
		if fi.IsDir() {
			f.Close()
			return nil, fmt.Errorf("read %s: is a directory", arg)
		}
		size := fi.Size()
		if !fi.Mode().IsRegular() {
			size = -1
		}
		return &input{name: arg, r: f, size: size, close: f.Close}, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		if n, perr := strconv.ParseInt(arg, 10, 64); perr == nil && n > 0 && isDigits(arg) {
			return &input{name: fmt.Sprintf("%d generated customers", n), generate: n, size: -1, close: func() error { return nil }}, nil
		}
		return nil, fmt.Errorf("open %s: no such file", arg)
	}
	return nil, fmt.Errorf("open %s: %w", arg, errors.Unwrap(err))
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
