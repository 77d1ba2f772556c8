"""Across the air gap: packaging, signing, verification and release diffs."""
