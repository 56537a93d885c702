package mockcrm

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// bearerPrefix starts the Authorization header of a bearer token; its
// scheme is matched without regard to case.
const bearerPrefix = "Bearer "

// authorized reports whether r carries the configured token, always true
// when no token is configured. The token is compared in constant time.
func (s *Server) authorized(r *http.Request) bool {
	if s.token == nil {
		return true
	}
	h := r.Header.Get("Authorization")
	if len(h) < len(bearerPrefix) || !strings.EqualFold(h[:len(bearerPrefix)], bearerPrefix) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(h[len(bearerPrefix):]), s.token) == 1
}

// unauthorized answers a request without the right token.
func (s *Server) unauthorized(w http.ResponseWriter) {
	s.counts.unauthorized.Add(1)
	w.Header().Set("WWW-Authenticate", `Bearer realm="mockcrm"`)
	http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
}
