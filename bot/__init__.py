"""A daemon that posts a WordPress news site's new articles to its social accounts."""

__version__ = "0.1.0"
