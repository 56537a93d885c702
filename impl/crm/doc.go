// Package crm delivers customers to the CRM's JSON HTTP API.
//
// A [Client] implements [common.Publisher]: every Publish is one POST of the
// customer as a compact JSON object, carrying the customer's idempotency key
// and, when configured, a bearer token. HTTP 200 means delivered; any other
// answer, a timeout or a transport error is reported as a
// *[common.PublishError].
package crm
