"""Using a saved agent: loading it with the env it was trained on, evaluating, recording videos, playing board games
against it, probing its features, and using it as an expert or a source of frames."""
