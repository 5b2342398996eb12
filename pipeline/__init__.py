"""stageline's pipeline: render stages offline, compare them, and move releases through them."""
