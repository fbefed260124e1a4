"""One controller per resource; each stays thin and leaves the logic to the engine."""
