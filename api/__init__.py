"""pitchmap's edges: the command line, settings, and (later) the HTTP API and pages."""
