package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"goquiz/internal/cli"
)

// validConfig returns the default configuration.
func validConfig() config {
	return config{Listen: ":8080", RetryAfter: time.Second, HangFor: 30 * time.Second, MaxBodyBytes: 8 << 20, LogInterval: 5 * time.Second,
		Logging: cli.Logging{LogFormat: "text"}}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(*config)
		wantErr string
	}{
		{name: "defaults", modify: func(*config) {}},
		{name: "rates at bounds", modify: func(c *config) { c.FailRate, c.RateLimitRate, c.HangRate = 0, 1, 0.5 }},
		{name: "fail rate above 1", modify: func(c *config) { c.FailRate = 2 }, wantErr: "FAIL_RATE: 2 is not between 0 and 1"},
		{name: "rate limit negative", modify: func(c *config) { c.RateLimitRate = -0.5 }, wantErr: "RATE_LIMIT_RATE"},
		{name: "hang rate NaN", modify: func(c *config) { c.HangRate = math.NaN() }, wantErr: "HANG_RATE"},
		{name: "negative latency", modify: func(c *config) { c.Latency = -time.Second }, wantErr: "LATENCY: -1s is negative"},
		{name: "negative jitter", modify: func(c *config) { c.LatencyJitter = -1 }, wantErr: "LATENCY_JITTER"},
		{name: "negative outage", modify: func(c *config) { c.OutageFor = -1 }, wantErr: "OUTAGE_FOR"},
		{name: "outages", modify: func(c *config) { c.OutageEvery, c.OutageFor = time.Minute, 10*time.Second }},
		{name: "outage period without length", modify: func(c *config) { c.OutageEvery = time.Minute }, wantErr: "need both"},
		{name: "outage length without period", modify: func(c *config) { c.OutageFor = time.Second }, wantErr: "need both"},
		{name: "outage as long as its period", modify: func(c *config) { c.OutageEvery, c.OutageFor = time.Second, time.Second }, wantErr: "shorter than OUTAGE_EVERY"},
		{name: "listen address not host:port", modify: func(c *config) { c.Listen = "bad" }, wantErr: "API_LISTEN"},
		{name: "negative log interval", modify: func(c *config) { c.LogInterval = -1 }, wantErr: "LOG_INTERVAL"},
		{name: "negative body size", modify: func(c *config) { c.MaxBodyBytes = -1 }, wantErr: "MAX_BODY_BYTES"},
		{name: "rate limit", modify: func(c *config) { c.RateLimitRPS, c.RateLimitBurst = 2.5, 3 }},
		{name: "negative rate limit", modify: func(c *config) { c.RateLimitRPS = -1 }, wantErr: "RATE_LIMIT_RPS: -1 is not"},
		{name: "infinite rate limit", modify: func(c *config) { c.RateLimitRPS = math.Inf(1) }, wantErr: "RATE_LIMIT_RPS: +Inf"},
		{name: "NaN rate limit", modify: func(c *config) { c.RateLimitRPS = math.NaN() }, wantErr: "RATE_LIMIT_RPS: NaN"},
		{name: "negative burst", modify: func(c *config) { c.RateLimitBurst = -1 }, wantErr: "RATE_LIMIT_BURST: -1 is negative"},
		{name: "fixed window", modify: func(c *config) { c.WindowLength, c.WindowMax = 10*time.Second, 150 }},
		{name: "window without max", modify: func(c *config) { c.WindowLength = time.Second }, wantErr: "needs both, or neither"},
		{name: "max without window", modify: func(c *config) { c.WindowMax = 3 }, wantErr: "needs both, or neither"},
		{name: "negative window", modify: func(c *config) { c.WindowLength, c.WindowMax = -time.Second, 3 }, wantErr: "RATE_LIMIT_WINDOW: -1s is negative"},
		{name: "negative window max", modify: func(c *config) { c.WindowLength, c.WindowMax = time.Second, -3 }, wantErr: "RATE_LIMIT_WINDOW_MAX: -3 is negative"},
		{name: "no Retry-After", modify: func(c *config) { c.RetryAfter = 0 }},
		{name: "empty listen", modify: func(c *config) { c.Listen = "" }, wantErr: "API_LISTEN"},
		{name: "metrics address", modify: func(c *config) { c.MetricsListen = "127.0.0.1:9091" }},
		{name: "metrics address without port", modify: func(c *config) { c.MetricsListen = "9091" }, wantErr: `METRICS_LISTEN: "9091" is not host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.modify(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NoError(t, c.mock().Validate())
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    func(*config)
		wantErr string
	}{
		{name: "defaults", want: func(*config) {}},
		{
			name: "all set",
			env: map[string]string{
				"API_LISTEN": "127.0.0.1:9000", "API_TOKEN": "tok", "FAIL_RATE": "0.1", "RATE_LIMIT_RATE": "0.2",
				"RETRY_AFTER": "2s", "LATENCY": "5ms", "LATENCY_JITTER": "3ms", "HANG_RATE": "0.01", "HANG_FOR": "1m",
				"OUTAGE_EVERY": "60s", "OUTAGE_FOR": "10s", "MAX_BODY_BYTES": "1024", "SEED": "7", "LOG_INTERVAL": "1s",
				"METRICS_LISTEN": ":9091", "LOG_FORMAT": "json", "RATE_LIMIT_RPS": "2.5", "RATE_LIMIT_BURST": "4",
				"RATE_LIMIT_WINDOW": "10s", "RATE_LIMIT_WINDOW_MAX": "150",
			},
			want: func(c *config) {
				*c = config{
					Listen: "127.0.0.1:9000", Token: "tok", FailRate: 0.1, RateLimitRate: 0.2,
					RetryAfter: 2 * time.Second, Latency: 5 * time.Millisecond, LatencyJitter: 3 * time.Millisecond,
					HangRate: 0.01, HangFor: time.Minute, OutageEvery: time.Minute, OutageFor: 10 * time.Second,
					MaxBodyBytes: 1024, Seed: 7, LogInterval: time.Second, MetricsListen: ":9091",
					Logging: cli.Logging{LogFormat: "json"}, RateLimitRPS: 2.5, RateLimitBurst: 4,
					WindowLength: 10 * time.Second, WindowMax: 150,
				}
			},
		},
		{name: "unparsable rate", env: map[string]string{"FAIL_RATE": "x"}, wantErr: `FAIL_RATE="x" is not a number`},
		{name: "unparsable duration", env: map[string]string{"LATENCY": "5"}, wantErr: `LATENCY="5" is not a duration`},
		{name: "out of range", env: map[string]string{"HANG_RATE": "1.5"}, wantErr: "HANG_RATE"},
		{name: "unknown log format", env: map[string]string{"LOG_FORMAT": "xml"}, wantErr: `LOG_FORMAT="xml" is not text or json`},
		{name: "HubSpot mode", env: map[string]string{"API_MODE": "hubspot", "HUBSPOT_RATE_LIMIT": "190"},
			want: func(c *config) { c.Mode, c.HubSpotLimit = "hubspot", 190 }},
		{name: "unknown mode", env: map[string]string{"API_MODE": "salesforce"}, wantErr: `API_MODE: "salesforce" is not goquiz or hubspot`},
		{name: "limit without the mode: ignored", env: map[string]string{"HUBSPOT_RATE_LIMIT": "100"}, want: func(c *config) { c.HubSpotLimit = 100 }},
		{name: "negative limit", env: map[string]string{"API_MODE": "hubspot", "HUBSPOT_RATE_LIMIT": "-1"}, wantErr: "HUBSPOT_RATE_LIMIT: -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range envNames {
				unsetenv(t, name)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := loadConfig()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			want := validConfig()
			tt.want(&want)
			assert.Equal(t, want, got)
		})
	}
}

// TestConfigMock checks how the variables the matrix added reach the mock
// CRM: RETRY_AFTER=0 sends no Retry-After, and the window passes as is.
func TestConfigMock(t *testing.T) {
	tests := []struct {
		name      string
		modify    func(*config)
		wantRetry time.Duration
		wantOmit  bool
	}{
		{name: "default Retry-After", modify: func(*config) {}, wantRetry: time.Second},
		{name: "RETRY_AFTER=3s", modify: func(c *config) { c.RetryAfter = 3 * time.Second }, wantRetry: 3 * time.Second},
		{name: "RETRY_AFTER=0: none", modify: func(c *config) { c.RetryAfter = 0 }, wantOmit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			c.WindowLength, c.WindowMax = 10*time.Second, 150
			tt.modify(&c)
			m := c.mock()
			assert.Equal(t, tt.wantRetry, m.RetryAfter)
			assert.Equal(t, tt.wantOmit, m.OmitRetryAfter)
			assert.Equal(t, 10*time.Second, m.RateLimitWindow)
			assert.Equal(t, 150, m.RateLimitWindowMax)
		})
	}
}

func TestConfigMode(t *testing.T) {
	c := validConfig()
	c.HubSpotLimit = 100
	assert.False(t, c.withMode(c.mock()).HubSpot, "goquiz's own API by default")
	c.Mode, c.HubSpotLimit = "hubspot", 190
	m := c.withMode(c.mock())
	assert.True(t, m.HubSpot)
	assert.Equal(t, 190, m.HubSpotLimit)
	require.NoError(t, m.Validate())
}

func TestConfigLogRedactsToken(t *testing.T) {
	c := validConfig()
	c.Token = "hunter2"
	for _, a := range c.logValue() {
		assert.NotContains(t, a.Value.String(), "hunter2")
		if a.Key == "token" {
			assert.Equal(t, "***", a.Value.String())
		}
	}
}

// loadConfig reads the configuration from the environment as run does;
// its error is what run reports.
func loadConfig() (config, error) {
	cfg := defaultConfig()
	var stderr bytes.Buffer
	if _, _, code, ok := cli.Start("httpapi", synopsis, &cfg, nil, io.Discard, &stderr); !ok {
		return cfg, fmt.Errorf("exit code %d: %s", code, stderr.String())
	}
	return cfg, nil
}

// unsetenv unsets the variable for the duration of the test.
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // restores the variable after the test
	require.NoError(t, os.Unsetenv(name))
}
