package cli

// FormatDuration is formatDuration, for the tests.
var FormatDuration = formatDuration
