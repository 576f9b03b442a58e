//! The local terminal, for `exec -t`: raw mode and its size.
//!
//! A remote shell with a terminal expects every key as it is typed (Ctrl-C included, which it
//! handles itself) and echoes on its own, so the local terminal must stop doing both: that is
//! "raw mode", set with `termios` and always restored on the way out (the guard's `Drop`), or
//! the user's shell is left unusable. The remote side also needs the window's size, and the new
//! one each time the window changes (SIGWINCH).

use std::io;

/// Whether standard input is a terminal.
pub fn stdin_is_terminal() -> bool {
    // SAFETY: isatty only reads the file descriptor's state.
    unsafe { libc::isatty(libc::STDIN_FILENO) == 1 }
}

/// The terminal's size as (columns, rows), if standard output is one.
pub fn size() -> Option<(u16, u16)> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct we own.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0 && size.ws_row > 0).then_some((size.ws_col, size.ws_row))
}

/// Raw mode on standard input while it lives; the previous settings come back on drop.
pub struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    pub fn enable() -> io::Result<RawMode> {
        // SAFETY: tcgetattr fills the zeroed struct we own; cfmakeraw and tcsetattr only read it.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return Err(io::Error::last_os_error());
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(RawMode { saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `enable`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}
