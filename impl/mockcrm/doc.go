// Package mockcrm is a stand-in for the CRM's JSON HTTP API, for the demo,
// tests and anyone wanting a CRM that fails on demand.
//
// A [Server] accepts customers POSTed as JSON objects to any path but
// /stats, validating them against the wire contract, honouring
// Idempotency-Key, optionally requiring a bearer token, enforcing a real
// rate limit (a token bucket), and injecting faults (errors, random 429s,
// latency, hanging requests, scheduled outages) as configured. GET /stats reports its counters as JSON.
//
// In its HubSpot mode (Config.HubSpot) it answers as HubSpot's CRM API
// does for contacts instead: POST /crm/v3/objects/contacts with a
// "properties" body, 409 for a contact whose email exists, 400 with
// HubSpot's JSON validation error for an invalid email, PATCH and GET of a
// contact, and HubSpot's ten-second rolling window with its
// X-HubSpot-RateLimit-* headers (see hubspot.go).
package mockcrm
