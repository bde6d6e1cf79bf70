"""A demo mail catcher: an SMTP server that keeps every message in a folder, and a page that lists them."""
