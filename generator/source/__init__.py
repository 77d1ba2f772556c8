"""Reading the curated source: hardened YAML loading and catalog validation."""
