package configdoc_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/internal/cli"
	"goquiz/internal/configdoc"
)

const page = "# Configuration\n\n## prog\n\nSome text.\n\n" +
	"| variable | default | meaning |\n| --- | --- | --- |\n" +
	"| `CHUNK` | `10` | rows per chunk |\n" +
	"| `SEP` | `\\|` | a pipe |\n" +
	"| `NAME` | unset | a name |\n\n" +
	"## other\n\n| variable | default | meaning |\n| --- | --- | --- |\n| `X` | `1` | x |\n"

func TestTable(t *testing.T) {
	rows, err := configdoc.Table(page, "prog")
	require.NoError(t, err)
	assert.Equal(t, []configdoc.Row{
		{Name: "CHUNK", Default: "10", Meaning: "rows per chunk"},
		{Name: "SEP", Default: "|", Meaning: "a pipe"},
		{Name: "NAME", Default: "unset", Meaning: "a name"},
	}, rows)
	_, err = configdoc.Table(page, "missing")
	assert.ErrorContains(t, err, `no heading "missing"`)
}

type spec struct {
	Chunk int    `envconfig:"CHUNK" desc:"rows per chunk"`
	Sep   string `envconfig:"SEP" desc:"a pipe"`
	Name  string `envconfig:"NAME" desc:"a name"`
}

type tagged struct {
	Tagged int `envconfig:"TAGGED" default:"3" desc:"has a tag"`
}

func TestDiff(t *testing.T) {
	rows, err := configdoc.Table(page, "prog")
	require.NoError(t, err)
	tests := []struct {
		name string
		rows []configdoc.Row
		spec any
		want []string
	}{
		{name: "agree", rows: rows, spec: spec{Chunk: 10, Sep: "|"}},
		{name: "another default", rows: rows, spec: spec{Chunk: 20, Sep: "|", Name: "n"}, want: []string{
			"CHUNK: the page says the default is `10`, the program takes `20`",
			"NAME: the page says the default is unset, the program takes `n`",
		}},
		{name: "missing from the page", rows: rows[:2], spec: spec{Chunk: 10, Sep: "|"}, want: []string{
			"NAME: missing from the page; add | `NAME` | unset | a name |",
		}},
		{name: "not in the program", rows: append(rows[:3:3], configdoc.Row{Name: "OLD", Default: "1"}), spec: spec{Chunk: 10, Sep: "|"},
			want: []string{"OLD: on the page, but the program has no such variable"}},
		{name: "a default tag", rows: []configdoc.Row{{Name: "TAGGED", Default: "0"}}, spec: tagged{}, want: []string{"TAGGED: a default tag on its field; set the default in the program's defaultConfig"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, configdoc.Diff(tt.rows, cli.Vars(tt.spec)))
		})
	}
}

func TestDefaults(t *testing.T) {
	vars := cli.Vars(spec{Chunk: 10, Sep: "|"})
	feature := "# A feature\n\n| variable | default | meaning |\n| --- | --- | --- |\n" +
		"| `CHUNK` | `20` | rows per chunk |\n" +
		"| `SEP`, `NAME` | `\\|` | two at once |\n" +
		"| `OTHER` | `5` | another program's |\n" +
		"| `NAME` | unset | a name |\n\n" +
		"| run | CHUNK |\n| --- | --- |\n| `CHUNK` | `30` |\n"
	assert.Equal(t, []string{
		"line 5: CHUNK: the page says the default is `20`, the program takes `10`",
		"line 6: NAME: the page says the default is `|`, the program takes unset",
	}, configdoc.Defaults(feature, vars))
	assert.Empty(t, configdoc.Defaults(page, vars))
}
