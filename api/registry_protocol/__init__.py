"""The endpoints our registry calls: its token realm and its push notifications."""
