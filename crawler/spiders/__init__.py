"""Spiders: `news` (any mix of sources, for crawler.runner); `feed`, `sitemap`, `listing` for debugging."""
