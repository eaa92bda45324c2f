"""Garbage collections of our registry's storage as the API shows and starts them (staff)."""
