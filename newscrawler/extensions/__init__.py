"""Scrapy extensions wired in settings.EXTENSIONS: the crawl's store and its run record."""
