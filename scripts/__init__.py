"""The user's commands. Each script is thin: parse arguments, call the packages."""
