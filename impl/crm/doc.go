// Package crm delivers customers to the CRM's JSON HTTP API.
//
// A [Client] implements [common.Publisher]: every Publish is one POST of the
// customer as a compact JSON object, carrying the customer's idempotency key
// and, when configured, a bearer token. HTTP 200 means delivered; any other
// answer, a timeout or a transport error is reported as a
// *[common.PublishError]. The request budget the CRM announces with an
// answer (the RateLimit header fields, or X-RateLimit-Remaining and -Reset)
// is returned with it as a [common.Budget].
//
// Requests are sent with net/http's Transport, through RoundTrip so that no
// redirect is followed: HTTP/1.1 keep-alive connections, one kept per
// publisher, or HTTP/2 over TLS when the CRM offers it; the proxy comes
// from the environment; credentials in the endpoint become Basic
// authentication.
package crm
