// Package configdoc checks docs/configuration.md against the programs'
// configuration: the table of each program lists its environment
// variables, each with the default the program takes, so that the page
// cannot drift from the code. It is test support: each main's tests call
// Check with the variables of its default configuration.
package configdoc

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"goquiz/internal/cli"
)

// Unset is what a table writes in the default column of a variable that
// is unset by default.
const Unset = "unset"

// Row is one row of a configuration table: a variable, its default as the
// page writes it (without backquotes; Unset when there is none), and its
// meaning.
type Row struct {
	Name, Default, Meaning string
}

var headingLine = regexp.MustCompile(`^#{1,6} +(.+?) *$`)

// Table returns the rows of the first table under the heading (its text,
// such as "parser") in page, a Markdown text. The table's first column
// names the variable, the second its default.
func Table(page, heading string) ([]Row, error) {
	lines := strings.Split(page, "\n")
	i := slices.IndexFunc(lines, func(l string) bool {
		m := headingLine.FindStringSubmatch(l)
		return m != nil && m[1] == heading
	})
	if i < 0 {
		return nil, fmt.Errorf("no heading %q", heading)
	}
	var rows []Row
	for _, l := range lines[i+1:] {
		if headingLine.MatchString(l) {
			break
		}
		if !strings.HasPrefix(l, "|") {
			if len(rows) > 0 {
				break // the end of the table
			}
			continue
		}
		cells := splitRow(l)
		if len(cells) < 3 {
			return nil, fmt.Errorf("under %q: a row of %d cells, not variable | default | meaning: %s", heading, len(cells), l)
		}
		if cells[0] == "variable" || strings.Trim(cells[0], "-: ") == "" {
			continue // the header and its rule
		}
		rows = append(rows, Row{Name: unquote(cells[0]), Default: unquote(cells[1]), Meaning: cells[2]})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no table under %q", heading)
	}
	return rows, nil
}

// splitRow returns the cells of a table row, trimmed; \| is a | within a
// cell.
func splitRow(l string) []string {
	l = strings.TrimSpace(l)
	l = strings.TrimSuffix(strings.TrimPrefix(l, "|"), "|")
	var cells []string
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		switch {
		case l[i] == '\\' && i+1 < len(l) && l[i+1] == '|':
			b.WriteByte('|')
			i++
		case l[i] == '|':
			cells = append(cells, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(l[i])
		}
	}
	return append(cells, strings.TrimSpace(b.String()))
}

// unquote strips the backquotes around a cell written as code.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '`' && s[len(s)-1] == '`' {
		return s[1 : len(s)-1]
	}
	return s
}

// Diff returns what differs between the rows of a table and vars, the
// variables of a program's default configuration (see cli.Vars): a
// variable missing from either side, a default that differs, a default
// written in a tag rather than in the configuration value. Empty when
// they agree; the order of the rows is free.
func Diff(rows []Row, vars []cli.Var) []string {
	var diffs []string
	doc := map[string]Row{}
	for _, r := range rows {
		if _, dup := doc[r.Name]; dup {
			diffs = append(diffs, fmt.Sprintf("%s: listed twice", r.Name))
		}
		doc[r.Name] = r
	}
	for _, v := range vars {
		want := written(v)
		r, ok := doc[v.Name]
		switch {
		case v.Tagged:
			diffs = append(diffs, fmt.Sprintf("%s: a default tag on its field; set the default in the program's defaultConfig", v.Name))
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: missing from the page; add | `%s` | %s | %s |", v.Name, v.Name, cell(want), v.Meaning))
		case r.Default != want:
			diffs = append(diffs, fmt.Sprintf("%s: the page says the default is %s, the program takes %s", v.Name, cell(r.Default), cell(want)))
		}
		delete(doc, v.Name)
	}
	for _, r := range rows {
		if _, ok := doc[r.Name]; ok {
			diffs = append(diffs, fmt.Sprintf("%s: on the page, but the program has no such variable", r.Name))
		}
	}
	return diffs
}

// written is v's default as a table's default column writes it.
func written(v cli.Var) string {
	if v.Default == "" {
		return Unset
	}
	return v.Default
}

// cell writes a default as the tables do.
func cell(d string) string {
	if d == Unset {
		return d
	}
	return "`" + d + "`"
}

// Check fails t when the table under heading in the Markdown file at path
// and vars, the variables of the program's default configuration, differ
// (see Diff).
func Check(t testing.TB, path, heading string, vars []cli.Var) {
	t.Helper()
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Table(string(page), heading)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, d := range Diff(rows, vars) {
		t.Errorf("%s, %s: %s", path, heading, d)
	}
}

var varName = regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")

// Defaults returns what differs between vars and the default column of
// every row of a settings table (one whose second column is headed
// "default") in page, a Markdown text, whose first cell names one of
// vars: the pages of features repeat a default for the reader, and must
// repeat the program's. Rows naming variables the program does not have
// are another program's and are left alone.
func Defaults(page string, vars []cli.Var) []string {
	want := map[string]string{}
	for _, v := range vars {
		want[v.Name] = written(v)
	}
	var diffs []string
	settings, inTable := false, false
	for n, l := range strings.Split(page, "\n") {
		if !strings.HasPrefix(l, "|") {
			inTable = false
			continue
		}
		cells := splitRow(l)
		if !inTable { // the header: a settings table has "default" second
			inTable = true
			settings = len(cells) >= 2 && cells[1] == "default"
			continue
		}
		if !settings {
			continue
		}
		for _, m := range varName.FindAllStringSubmatch(cells[0], -1) {
			w, ok := want[m[1]]
			if ok && unquote(cells[1]) != w {
				diffs = append(diffs, fmt.Sprintf("line %d: %s: the page says the default is %s, the program takes %s", n+1, m[1], cell(unquote(cells[1])), cell(w)))
			}
		}
	}
	return diffs
}

// CheckPages fails t when a settings table of one of the pages, files
// of the folder docs, gives one of vars another default than the
// program's (see Defaults).
func CheckPages(t testing.TB, docs string, pages []string, vars []cli.Var) {
	t.Helper()
	for _, p := range pages {
		path := filepath.Join(docs, p)
		page, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range Defaults(string(page), vars) {
			t.Errorf("%s, %s", path, d)
		}
	}
}
