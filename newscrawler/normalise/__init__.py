"""Normalisation: canonical URLs, text, script, dates and outlet names. Plain functions, no Scrapy."""
