"""Scrapy commands of this project (COMMANDS_MODULE): `scrapy crawl` runs like `newscrawler crawl`."""
