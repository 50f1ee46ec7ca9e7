"""Many runs: comparing runs across seeds and settings (``gymsuite compare``)."""
