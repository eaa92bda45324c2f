"""Images, their tags and layers, and registries: the Tutum Images and Image Tags API."""
