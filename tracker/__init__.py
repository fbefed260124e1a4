"""Share links, view events and engagement reports (storage lives here)."""
