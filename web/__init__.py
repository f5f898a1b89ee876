"""Guildhall HTTP surface: HTML pages, ActivityPub endpoints, well-known documents, admin pages."""
