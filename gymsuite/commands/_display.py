"""Whether ``gymsuite play`` can open a window that a person sees, decided before pygame opens anything.

Without a screen SDL does not fail: it falls back to its invisible ``offscreen`` driver (or uses the
``dummy`` one it was told to use), and play would wait for keys that never come. So play refuses, and
says which case it is: ``SDL_VIDEODRIVER`` names a driver that shows nothing; ``DISPLAY`` and
``WAYLAND_DISPLAY`` are unset; or they are set and no display server answers there (an X server's
socket ``/tmp/.X11-unix/X<n>``, ``ssh -X``'s TCP port 6000 + n, a Wayland socket in ``XDG_RUNTIME_DIR``).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping

from gymsuite.common.errors import UserError

NO_WINDOW_DRIVERS = ("dummy", "offscreen")  # SDL video drivers that draw into memory only
_ANSWER_TIMEOUT_S = 2.0  # a display server answers a local connection at once; a dead ssh tunnel may not


def display_problem(environ: Mapping[str, str]) -> UserError | None:
    """Why no play window can be seen under ``environ`` (Linux), or None when one can open.

    A driver chosen by hand other than x11 and wayland (``kmsdrm``, a framebuffer) is trusted; the
    window then checks which driver SDL really took.
    """
    driver = environ.get("SDL_VIDEODRIVER", "").strip().lower()
    x11, wayland = environ.get("DISPLAY", ""), environ.get("WAYLAND_DISPLAY", "")
    if driver and driver not in (*NO_WINDOW_DRIVERS, "x11", "wayland"):
        return None
    if not x11 and not wayland:
        also = f"; SDL_VIDEODRIVER={driver} would show nothing anyway" if driver in NO_WINDOW_DRIVERS else ""
        return UserError(f"no display is available for the play window: DISPLAY and WAYLAND_DISPLAY are unset{also}",
                         "run gymsuite play in a desktop session, or over ssh -X (which sets DISPLAY)")
    if driver in NO_WINDOW_DRIVERS:
        return UserError(f"SDL_VIDEODRIVER={driver} opens no window, so play would wait for keys that never come",
                         "unset SDL_VIDEODRIVER (or set it to x11 or wayland) to play in a window on your screen")
    if (x11 and x_server_answers(x11)) or (wayland and wayland_answers(wayland, environ)):
        return None
    named = " and ".join(f"{name}={value}" for name, value in (("DISPLAY", x11), ("WAYLAND_DISPLAY", wayland))
                         if value)
    return UserError(f"{named} is set, but no display server answers there, so the play window cannot open",
                     "start the desktop session or X server it names, or point DISPLAY at one that runs "
                     "(ssh -X sets it); a value left over from an old session: unset it")


def x_server_answers(display: str) -> bool:
    """Whether an X server accepts a connection at ``display`` (``:0``, ``:1.0``, ``localhost:10.0``)."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    if host in ("", "unix"):  # Linux servers listen on an abstract socket and on the file beside it
        path = f"/tmp/.X11-unix/X{number}"
        return _unix_answers("\0" + path) or _unix_answers(path)
    if host.startswith("/"):  # a socket path (XQuartz's launchd socket)
        return _unix_answers(display)
    try:
        socket.create_connection((host, 6000 + int(number)), timeout=_ANSWER_TIMEOUT_S).close()
    except OSError:
        return False
    return True


def wayland_answers(name: str, environ: Mapping[str, str]) -> bool:
    """Whether a Wayland compositor accepts a connection at ``WAYLAND_DISPLAY=name``."""
    path = name if os.path.isabs(name) else os.path.join(environ.get("XDG_RUNTIME_DIR", ""), name)
    return _unix_answers(path)


def _unix_answers(address: str) -> bool:
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(_ANSWER_TIMEOUT_S)
        sock.connect(address)
        return True
    return False
