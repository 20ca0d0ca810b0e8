"""Accounts: sign-up, sign-in and API tokens, for the API (api.py) and the
pages (pages.py), with sign-in throttling (signin.py, django-axes)."""
