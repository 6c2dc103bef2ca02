"""Collection: Scrapy spiders over folder mirrors, HTTP mirrors and (through Tor) live markets."""
