//! Log lines that cannot be forged: whatever a client manages to get into a logged value (an
//! error message quoting its input, say), one event stays one line.
//!
//! The JSON format escapes control characters itself; the text format writes field values as
//! they are, so a newline in one would start a line that looks like the server's own, and
//! terminal escape bytes would reach whoever reads the log in a terminal. tracing-subscriber
//! formats each event into a buffer and writes it with one call, so the writer sees whole
//! events and escapes them here.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Standard error, with every control character inside an event escaped (`\n`, `\r`, `\u{1b}`
/// and so on); the newline that ends an event stays. With `keep_colours`, the escape byte is
/// left alone, for the colour codes of a log written to a terminal.
#[derive(Clone, Copy, Debug)]
pub struct EscapingStderr {
    /// Whether escape bytes pass (the formatter's colours, on a terminal).
    pub keep_colours: bool,
}

impl<'a> MakeWriter<'a> for EscapingStderr {
    type Writer = Escaping<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        Escaping { inner: io::stderr(), keep_colours: self.keep_colours }
    }
}

/// A writer that escapes control characters on their way to `inner`.
#[derive(Debug)]
pub struct Escaping<W> {
    inner: W,
    keep_colours: bool,
}

impl<W: Write> Escaping<W> {
    /// `inner`, escaped.
    pub fn new(inner: W, keep_colours: bool) -> Self {
        Self { inner, keep_colours }
    }
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, event: &[u8]) -> io::Result<usize> {
        let (body, end) = match event.strip_suffix(b"\n") {
            Some(body) => (body, &b"\n"[..]),
            None => (event, &b""[..]),
        };
        let passes = |byte: u8| !byte.is_ascii_control() || byte == b'\t' || (self.keep_colours && byte == 0x1b);
        if body.iter().all(|&byte| passes(byte)) {
            self.inner.write_all(event)?;
            return Ok(event.len());
        }
        let mut escaped = Vec::with_capacity(event.len() + 16);
        for &byte in body {
            match byte {
                _ if passes(byte) => escaped.push(byte),
                b'\n' => escaped.extend_from_slice(b"\\n"),
                b'\r' => escaped.extend_from_slice(b"\\r"),
                _ => escaped.extend_from_slice(format!("\\u{{{byte:x}}}").as_bytes()),
            }
        }
        escaped.extend_from_slice(end);
        self.inner.write_all(&escaped)?;
        Ok(event.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(event: &str, keep_colours: bool) -> String {
        let mut out = Vec::new();
        Escaping::new(&mut out, keep_colours).write_all(event.as_bytes()).expect("written");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn an_event_stays_one_line_and_escape_bytes_are_shown_not_sent() {
        assert_eq!(
            escaped("INFO request operation=a\nINFO forged\n", false),
            "INFO request operation=a\\nINFO forged\n"
        );
        assert_eq!(escaped("x\r\u{1b}[2Jy\n", false), "x\\r\\u{1b}[2Jy\n");
        assert_eq!(escaped("tab\there é\n", false), "tab\there é\n");
        assert_eq!(escaped("\u{1b}[32mINFO\u{1b}[0m a\nb\n", true), "\u{1b}[32mINFO\u{1b}[0m a\\nb\n");
    }
}
