// Package crm delivers customers to the CRM's JSON HTTP API.
//
// A [Client] implements [common.Publisher]: every Publish is one POST of the
// customer as a compact JSON object, carrying the customer's idempotency key
// and, when configured, a bearer token. HTTP 200 means delivered; any other
// answer, a timeout or a transport error is reported as a
// *[common.PublishError].
//
// Requests go over HTTP/1.1 keep-alive connections through fasthttp, which
// costs far less CPU per request than net/http. What net/http would have
// done for us is done here: a connection the CRM closed while idle is
// replaced before a request is written to it, redirects are not followed,
// credentials in the endpoint become Basic authentication, and the proxy
// comes from the environment.
package crm
