"""Spiders only discover and fetch; the extractor turns pages into articles, pipelines do the rest."""
