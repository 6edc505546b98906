package jesus

// Draining reports whether the server has begun to stop (Shutdown or Close): it accepts
// no new calls, and a readiness probe should say so.
func (s *Server) Draining() bool {
	if s.draining.Load() {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
