package mockcrm

import (
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HubSpotWindow is the length of HubSpot's rolling rate-limit window.
const HubSpotWindow = 10 * time.Second

// firstContactID is the id of the first contact created.
const firstContactID = 101

// contact is a HubSpot contact.
type contact struct {
	id         int64
	properties map[string]string
	created    time.Time
	updated    time.Time
}

// contactJSON is a contact as HubSpot's API writes it.
type contactJSON struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	CreatedAt  string            `json:"createdAt"`
	UpdatedAt  string            `json:"updatedAt"`
	Archived   bool              `json:"archived"`
}

// json returns c as HubSpot's API writes it, with the properties HubSpot
// adds (hs_object_id, createdate, lastmodifieddate).
func (c contact) json() contactJSON {
	props := maps.Clone(c.properties)
	id := strconv.FormatInt(c.id, 10)
	props["hs_object_id"] = id
	props["createdate"] = c.created.UTC().Format(time.RFC3339Nano)
	props["lastmodifieddate"] = c.updated.UTC().Format(time.RFC3339Nano)
	return contactJSON{ID: id, Properties: props,
		CreatedAt: c.created.UTC().Format(time.RFC3339Nano), UpdatedAt: c.updated.UTC().Format(time.RFC3339Nano)}
}

// contactStore holds the contacts by id and by email (case-insensitive),
// safe for concurrent use.
type contactStore struct {
	mu      sync.Mutex
	byID    map[int64]*contact
	byEmail map[string]int64
	ids     []int64 // in order of creation
	next    int64
}

func newContactStore() *contactStore {
	return &contactStore{byID: map[int64]*contact{}, byEmail: map[string]int64{}, next: firstContactID}
}

// emailKey is how emails are compared.
func emailKey(email string) string { return strings.ToLower(email) }

// create stores a contact of props and returns it, or the id of the
// contact that has its email already (and no contact).
func (s *contactStore) create(props map[string]string, now time.Time) (contact, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	email := emailKey(props["email"])
	if id, ok := s.byEmail[email]; ok && email != "" {
		return contact{}, id
	}
	c := &contact{id: s.next, properties: props, created: now, updated: now}
	s.next++
	s.byID[c.id] = c
	if email != "" {
		s.byEmail[email] = c.id
	}
	s.ids = append(s.ids, c.id)
	return c.copy(), 0
}

// lookup returns the contact of key, an id or, byEmail, an email; s.mu
// is held.
func (s *contactStore) lookup(key string, byEmail bool) *contact {
	if byEmail {
		return s.byID[s.byEmail[emailKey(key)]]
	}
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		return nil
	}
	return s.byID[id]
}

// find returns a copy of the contact of key.
func (s *contactStore) find(key string, byEmail bool) (contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookup(key, byEmail)
	if c == nil {
		return contact{}, false
	}
	return c.copy(), true
}

// update sets props on the contact of key and returns it with 200; 404
// when there is none; 409 with the other's id when its new email is
// another contact's.
func (s *contactStore) update(key string, byEmail bool, props map[string]string, now time.Time) (contact, int, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookup(key, byEmail)
	if c == nil {
		return contact{}, http.StatusNotFound, 0
	}
	if email, ok := props["email"]; ok {
		if other, taken := s.byEmail[emailKey(email)]; taken && other != c.id && email != "" {
			return contact{}, http.StatusConflict, other
		}
		delete(s.byEmail, emailKey(c.properties["email"]))
		if email != "" {
			s.byEmail[emailKey(email)] = c.id
		}
	}
	maps.Copy(c.properties, props)
	c.updated = now
	return c.copy(), http.StatusOK, 0
}

// page returns up to limit contacts created after the id after, and the
// id to ask for after them (0 at the end).
func (s *contactStore) page(after int64, limit int) ([]contact, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.ids), func(i int) bool { return s.ids[i] > after })
	end := min(i+limit, len(s.ids))
	out := make([]contact, 0, end-i)
	for _, id := range s.ids[i:end] {
		out = append(out, s.byID[id].copy())
	}
	if end == len(s.ids) {
		return out, 0
	}
	return out, s.ids[end-1]
}

// len returns the number of contacts.
func (s *contactStore) len() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.ids))
}

// copy returns c with its own properties.
func (c *contact) copy() contact {
	out := *c
	out.properties = maps.Clone(c.properties)
	return out
}

// rollingWindow counts requests over the last length, in slots of a
// hundredth of it, and allows at most max of them.
type rollingWindow struct {
	length time.Duration
	max    int

	mu    sync.Mutex
	slots [100]int
	at    int64 // the slot of the last request, counted from the epoch
	used  int
}

// newRollingWindow returns a window of max requests per length, or nil
// when max is not positive.
func newRollingWindow(length time.Duration, max int) *rollingWindow {
	if max <= 0 {
		return nil
	}
	return &rollingWindow{length: length, max: max}
}

// take counts a request at now if the window has room and reports
// whether it had, with the room left after it.
func (w *rollingWindow) take(now time.Time) (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	slot := now.UnixNano() / int64(w.length/time.Duration(len(w.slots)))
	// Empty the slots that fell out of the window since the last request.
	for s := w.at + 1; s <= slot && s <= w.at+int64(len(w.slots)); s++ {
		i := int(s % int64(len(w.slots)))
		w.used -= w.slots[i]
		w.slots[i] = 0
	}
	w.at = max(w.at, slot)
	if w.used >= w.max {
		return 0, false
	}
	w.slots[int(slot%int64(len(w.slots)))]++
	w.used++
	return w.max - w.used, true
}

// uuid returns a random version-4 UUID, for correlation ids.
func (l *lockedRand) uuid() string {
	l.mu.Lock()
	a, b := l.r.Uint64(), l.r.Uint64()
	l.mu.Unlock()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, (b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}
