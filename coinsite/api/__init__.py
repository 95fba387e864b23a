"""Shared REST API infrastructure of every app."""
