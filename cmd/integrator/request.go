package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"goquiz/impl/crm"
)

// Request is how the integrator shapes its requests to the CRM and reads
// the answers (see docs/crm-api.md). It is exported, and embedded in
// config, for envconfig to fill it.
type Request struct {
	APIMethod         string `envconfig:"API_METHOD" desc:"method of the requests: POST, PUT or PATCH"`
	BodyTemplate      string `envconfig:"BODY_TEMPLATE" desc:"path of a file holding the JSON body, {{id}}, {{first_name}}, {{last_name}}, {{email}}, {{phone}} where the record's values go (as JSON values, quoted by the program); unset: goquiz's own body"`
	APIHeaders        string `envconfig:"API_HEADERS" desc:"extra headers of every request, one Name: value a line; the values are secrets, never logged"`
	IdempotencyHeader string `envconfig:"IDEMPOTENCY_HEADER" desc:"header carrying the record's idempotency key (goquiz-customer-ID, -vN from a record's second version on), the same on every attempt of a version; empty: none sent"`
	SuccessStatus     string `envconfig:"SUCCESS_STATUS" desc:"statuses meaning delivered, such as 200,201,204; every other answer is retried (or see GIVE_UP_ON)"`
	GiveUpOn          string `envconfig:"GIVE_UP_ON" desc:"statuses refusing a record for good, such as 400,409,422: it ends at once as rejected, with the status and the start of the answer (see integrator status and retry-failed --rejected); empty: every failure retried"`
}

// crmOptions returns the client options the request settings make: the
// body template read and checked, the headers parsed, the status lists.
// Its error names every wrong variable, one line each.
func (c config) crmOptions() (crm.Options, error) {
	var opts crm.Options
	var errs []error
	switch m := strings.ToUpper(c.APIMethod); m {
	case "":
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		opts.Method = m
	default:
		errs = append(errs, fmt.Errorf("API_METHOD %q is not POST, PUT or PATCH", c.APIMethod))
	}
	if c.BodyTemplate != "" {
		text, err := os.ReadFile(c.BodyTemplate)
		if err == nil {
			opts.Body, err = crm.ParseBodyTemplate(text)
		}
		if err != nil {
			var te *crm.TemplateError
			if errors.As(err, &te) {
				err = fmt.Errorf("BODY_TEMPLATE %s:%w", c.BodyTemplate, err)
			} else {
				err = fmt.Errorf("BODY_TEMPLATE: %w", err)
			}
			errs = append(errs, err)
		}
	}
	if c.IdempotencyHeader == "" {
		opts.NoIdempotencyKey = true
	} else if err := crm.CheckHeaderName(c.IdempotencyHeader); err != nil {
		errs = append(errs, fmt.Errorf("IDEMPOTENCY_HEADER %q: %w", c.IdempotencyHeader, err))
	} else {
		opts.IdempotencyHeader = c.IdempotencyHeader
	}
	header, err := crm.ParseHeaders(c.APIHeaders)
	if err != nil {
		errs = append(errs, fmt.Errorf("API_HEADERS %w", err))
	}
	for name := range header {
		switch {
		case !opts.NoIdempotencyKey && name == http.CanonicalHeaderKey(c.IdempotencyHeader):
			errs = append(errs, fmt.Errorf("API_HEADERS sets %s, the header of the idempotency key (IDEMPOTENCY_HEADER)", name))
		case name == "Authorization" && c.APIToken != "":
			errs = append(errs, errors.New("API_HEADERS sets Authorization, which API_TOKEN sets: keep one"))
		case name == "Authorization" && endpointHasCredentials(c.APIEndpoint):
			errs = append(errs, errors.New("API_HEADERS sets Authorization, which the credentials in API_ENDPOINT set: keep one"))
		}
	}
	opts.Header = header
	if opts.Success, err = statusList("SUCCESS_STATUS", c.SuccessStatus); err != nil {
		errs = append(errs, err)
	}
	giveUp, err := statusList("GIVE_UP_ON", c.GiveUpOn)
	if err != nil {
		errs = append(errs, err)
	}
	success := cmpOr(opts.Success, []int{http.StatusOK})
	for _, s := range giveUp {
		switch {
		case s == http.StatusTooManyRequests:
			errs = append(errs, errors.New("GIVE_UP_ON lists 429: it asks to send less, never refuses a record; it is always retried"))
		case slices.Contains(success, s):
			errs = append(errs, fmt.Errorf("GIVE_UP_ON lists %d, which SUCCESS_STATUS takes as delivered", s))
		}
	}
	return opts, errors.Join(errs...)
}

// giveUpOn returns the statuses of GIVE_UP_ON (checked by Validate).
func (c config) giveUpOn() []int {
	s, _ := statusList("GIVE_UP_ON", c.GiveUpOn)
	return s
}

// statusList parses a comma-separated list of HTTP statuses, each from
// 200 to 599, white space allowed; empty gives none.
func statusList(name, s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			if strings.TrimSpace(s) != "" {
				return nil, fmt.Errorf("%s %q has an empty item: write statuses such as 200,201,204", name, s)
			}
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 200 || n > 599 {
			return nil, fmt.Errorf("%s %q: %q is not an HTTP status from 200 to 599", name, s, f)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// endpointHasCredentials tells whether endpoint carries user:password@.
func endpointHasCredentials(endpoint string) bool {
	u, err := url.Parse(endpoint)
	return err == nil && u.User != nil
}

// cmpOr returns a, or b when a is empty.
func cmpOr(a, b []int) []int {
	if len(a) == 0 {
		return b
	}
	return a
}

// headerNames returns the names of the extra headers, their values
// hidden, for the start-up log.
func (c config) headerNames() string {
	h, _ := crm.ParseHeaders(c.APIHeaders)
	if len(h) == 0 {
		return "(unset)"
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k + ": ***") {
				return
			}
		}
	})
	return strings.Join(names, ", ")
}
