"""Brand masters and viewer templates, shipped inside the wheel (found with importlib.resources)."""
