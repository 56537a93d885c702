package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// programs are the binaries the demo runs, by package.
var programs = []string{"goquiz/cmd/parser", "goquiz/cmd/integrator", "goquiz/cmd/httpapi"}

// binaries returns the directory holding the three programs: binDir when
// set, after checking each is there, or else dir, where they are built with
// the go command.
func binaries(ctx context.Context, binDir, dir string) (string, error) {
	if binDir != "" {
		for _, pkg := range programs {
			p := filepath.Join(binDir, filepath.Base(pkg))
			if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				return "", fmt.Errorf("BIN_DIR=%s: no executable %s in it", binDir, filepath.Base(pkg))
			}
		}
		return binDir, nil
	}
	gobin, err := goCommand()
	if err != nil {
		return "", err
	}
	args := append([]string{"build", "-o", dir + string(filepath.Separator)}, programs...)
	cmd := exec.CommandContext(ctx, gobin, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("build the programs (run the demo inside the goquiz repository, or set BIN_DIR): %s %s: %v\n%s",
			gobin, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return dir, nil
}

// goCommand finds the go command: on PATH, or in the Go installation the
// demo was built with.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no go command on PATH nor at %s: install Go or set BIN_DIR to prebuilt binaries", p)
}
