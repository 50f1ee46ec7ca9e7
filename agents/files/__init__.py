"""The file formats of a run: the run directory's layout, what a model zip says (read without unpickling) and the
model rebuilt from it, normaliser statistics, replay buffers (and the RAM they need), and a resume's exact state."""
