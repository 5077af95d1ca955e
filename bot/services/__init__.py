"""Use cases: one verb each, keyword-only arguments, ports passed in."""
