package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"goquiz/internal/harness"
)

// binaries returns the directory holding the three programs: binDir when
// set, after checking each is there, or else dir, where they are built with
// the go command.
func binaries(ctx context.Context, binDir, dir string) (string, error) {
	if binDir != "" {
		for _, pkg := range harness.Programs {
			p := harness.Bin(binDir, pkg)
			if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				return "", fmt.Errorf("BIN_DIR=%s: no executable %s in it", binDir, filepath.Base(pkg))
			}
		}
		return binDir, nil
	}
	if err := harness.Build(ctx, dir, false, harness.Programs...); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("build the programs (run the demo inside the goquiz repository, or set BIN_DIR): %w", err)
	}
	return dir, nil
}
