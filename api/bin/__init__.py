"""Deleting tags and images to the recycle bin, restoring them, emptying it early."""
