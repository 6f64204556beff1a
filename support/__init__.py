"""Tickets and disputes."""
