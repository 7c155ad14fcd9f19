"""newscrawler: scheduled scraping of regional news portals into MongoDB."""

__version__ = "0.1.0"
