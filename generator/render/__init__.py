"""Renderers: one module per output kind, each turning the catalog into output files."""
