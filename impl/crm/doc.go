// Package crm delivers customers to the CRM's JSON HTTP API.
//
// A [Client] implements [common.Publisher]: every Publish is one request
// for the customer, carrying its idempotency key and, when configured, a
// bearer token. By default the request is a POST of the customer as a
// compact JSON object with an Idempotency-Key header, and HTTP 200 means
// delivered. [Options] shape it for another CRM: the method, placeholders
// in the endpoint ({id}, {email}…), a [BodyTemplate] for the body, extra
// headers ([ParseHeaders]), the key's header (or none) and the statuses
// that mean delivered. Any other answer, a timeout or a transport error
// is reported as a *[common.PublishError], an answer with the start of its
// body. The request budget the CRM announces with an answer (the
// RateLimit header fields, or X-RateLimit-Remaining and -Reset) is
// returned with it as a [common.Budget].
//
// Requests are sent with net/http's Transport, through RoundTrip so that no
// redirect is followed: HTTP/1.1 keep-alive connections, one kept per
// publisher, or HTTP/2 over TLS when the CRM offers it; the proxy comes
// from the environment; credentials in the endpoint become Basic
// authentication.
package crm
