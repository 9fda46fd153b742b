"""Reports built from stored entries: pictures and plain-language summaries, no I/O."""
