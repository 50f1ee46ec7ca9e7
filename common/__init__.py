"""The bottom layer, imported by every package and importing none of them: errors with their fix
(``errors``), safe file I/O (``files``), space descriptions (``spaces``), option checks (``validation``)."""
