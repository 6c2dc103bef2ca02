"""Page bytes to listings: per-market page objects, a generic extractor, and the spaCy pipeline."""
