"""Charts drawn on the server as SVG: no script, no library, readable without colour (every
mark has a text label or a title for screen readers)."""
