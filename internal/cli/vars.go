package cli

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Var is one environment variable of a program's configuration.
type Var struct {
	// Name is the variable's name (the field's envconfig tag).
	Name string
	// Default is the field's value in the configuration Vars was given,
	// written as the variable would be set: a duration as 5m or 250ms, a
	// bool as true or false. Empty when the default is the empty string
	// (the variable is unset).
	Default string
	// Meaning is the field's desc tag.
	Meaning string
	// Tagged tells that the field has a default tag of its own: the
	// defaults of goquiz's programs live in their default configuration
	// value, never in tags (see the mains' defaultConfig).
	Tagged bool
}

// Vars lists the environment variables of spec, a struct with envconfig
// tags or a pointer to one (filled with the program's defaults), in the
// order envconfig reads them: the fields of an embedded struct where it is
// embedded.
func Vars(spec any) []Var {
	v := reflect.Indirect(reflect.ValueOf(spec))
	var out []Var
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		if !f.IsExported() || f.Tag.Get("ignored") == "true" {
			continue
		}
		name := f.Tag.Get("envconfig")
		if f.Anonymous && name == "" && fv.Kind() == reflect.Struct {
			out = append(out, Vars(fv.Interface())...)
			continue
		}
		if name == "" {
			name = strings.ToUpper(f.Name)
		}
		_, tagged := f.Tag.Lookup("default")
		out = append(out, Var{Name: name, Default: formatValue(fv), Meaning: f.Tag.Get("desc"), Tagged: tagged})
	}
	return out
}

// formatValue writes v as its environment variable would be set.
func formatValue(v reflect.Value) string {
	if d, ok := v.Interface().(time.Duration); ok {
		return formatDuration(d)
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	return fmt.Sprint(v.Interface())
}

// formatDuration writes d as a person would set it: 5m rather than
// time.Duration's 5m0s, 1h rather than 1h0m0s; 0 is 0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
