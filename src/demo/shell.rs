//! # `kubelab-demo sh`: a very small shell for an image that has none
//!
//! The demo image is `FROM scratch`: one binary, no `/bin/sh`. A lab still wants `kubectl exec`
//! to feel like a shell — `kubectl exec web -- kubelab-demo sh -c 'echo hi; exit 3'`, or
//! `kubectl exec -it web -- kubelab-demo sh` for a prompt. This is just enough of one: commands
//! separated by `;` or new lines, words split on blanks with `'...'` and `"..."` quoting, and a
//! handful of built-ins (`echo`, `cat [FILE...]`, `hostname`, `env`, `true`, `false`, `exit [N]`,
//! `help`, and `size`, which prints the terminal's rows and columns: what `kubectl exec -t`
//! resizes). A command's output can go to a file with `> FILE` or `>> FILE` (append), which is
//! what a storage lab needs: `sh -c 'echo kept > /data/note'`, later `sh -c 'cat /data/note'`.
//! No variables or pipes: anything else is `not found`, status 127, as in `sh`.

use std::io::{BufRead, IsTerminal, Read, Write};

/// Flags of `kubelab-demo sh`.
#[derive(Debug, clap::Args)]
pub struct ShArgs {
    /// Run this script and exit (as `sh -c`); without it, read commands from stdin.
    #[arg(short = 'c')]
    pub script: Option<String>,
}

/// What running some commands came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on; the last command's status.
    Continue(u8),
    /// `exit N`.
    Exit(u8),
}

/// One command: its words, and where its output goes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<String>,
    pub redirect: Option<Redirect>,
}

/// `> path` (truncate) or `>> path` (append).
#[derive(Debug, PartialEq, Eq)]
pub struct Redirect {
    pub path: String,
    pub append: bool,
}

/// The parser's state within one command.
#[derive(Default)]
struct Builder {
    command: Command,
    word: Option<String>,
    /// A `>` (false) or `>>` (true) seen, waiting for its file name.
    pending: Option<bool>,
}

impl Builder {
    /// Ends the current word: it is the redirection's target if one waits, else a word.
    fn end_word(&mut self) -> Result<(), String> {
        let Some(word) = self.word.take() else {
            return Ok(());
        };
        match self.pending.take() {
            Some(_) if self.command.redirect.is_some() => Err("only one redirection per command".to_string()),
            Some(append) => {
                self.command.redirect = Some(Redirect { path: word, append });
                Ok(())
            }
            None => {
                self.command.words.push(word);
                Ok(())
            }
        }
    }

    /// Ends the command; `None` for an empty one.
    fn end_command(&mut self) -> Result<Option<Command>, String> {
        self.end_word()?;
        if self.pending.is_some() {
            return Err("syntax error: > needs a file name".to_string());
        }
        let command = std::mem::take(&mut self.command);
        if command.words.is_empty() && command.redirect.is_some() {
            return Err("syntax error: a redirection needs a command".to_string());
        }
        Ok((!command.words.is_empty()).then_some(command))
    }
}

/// Splits a line into commands (on `;`) and each command into words, honouring quotes; an
/// unquoted `>` or `>>` takes the next word as the file the command's output goes to.
pub fn parse(line: &str) -> Result<Vec<Command>, String> {
    let mut commands = Vec::new();
    let mut b = Builder::default();
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => b.word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                b.word.get_or_insert_with(String::new);
            }
            (None, ';' | '\n') => commands.extend(b.end_command()?),
            (None, '>') => {
                b.end_word()?;
                if b.pending.is_some() {
                    return Err("syntax error: > needs a file name".to_string());
                }
                let append = chars.next_if_eq(&'>').is_some();
                b.pending = Some(append);
            }
            (None, c) if c.is_whitespace() => b.end_word()?,
            (None, c) => b.word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(q) = quote {
        return Err(format!("unterminated quote {q}"));
    }
    commands.extend(b.end_command()?);
    Ok(commands)
}

/// Runs one command's words.
pub fn run_command(words: &[String], stdin: &mut dyn Read, out: &mut dyn Write, err: &mut dyn Write) -> Flow {
    let Some((name, args)) = words.split_first() else {
        return Flow::Continue(0);
    };
    let status = match name.as_str() {
        "echo" => writeln!(out, "{}", args.join(" ")).map_or(1, |()| 0),
        "cat" if args.is_empty() => std::io::copy(stdin, out).map_or(1, |_| 0),
        "cat" => {
            let mut status = 0;
            for path in args {
                let copied = std::fs::File::open(path).and_then(|mut file| std::io::copy(&mut file, out));
                if let Err(e) = copied {
                    let _ = writeln!(err, "sh: cat: {path}: {e}");
                    status = 1;
                }
            }
            status
        }
        "hostname" => {
            let name = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
            writeln!(out, "{}", name.trim()).map_or(1, |()| 0)
        }
        "env" => {
            let mut status = 0;
            for (key, value) in std::env::vars() {
                if writeln!(out, "{key}={value}").is_err() {
                    status = 1;
                }
            }
            status
        }
        "size" => match terminal_size() {
            Some((rows, columns)) => writeln!(out, "{rows} {columns}").map_or(1, |()| 0),
            None => {
                let _ = writeln!(err, "sh: size: stdin is not a terminal");
                1
            }
        },
        "true" => 0,
        "false" => 1,
        "help" => writeln!(
            out,
            "built-ins: echo WORDS, cat [FILE...], hostname, env, size, true, false, exit [N], help; \
             COMMAND > FILE, COMMAND >> FILE"
        )
        .map_or(1, |()| 0),
        "exit" => {
            return match args.first().map(|a| a.parse::<u8>()) {
                None => Flow::Exit(0),
                Some(Ok(code)) => Flow::Exit(code),
                Some(Err(_)) => {
                    let _ = writeln!(err, "sh: exit: {}: numeric argument required", args[0]);
                    Flow::Exit(2)
                }
            }
        }
        other => {
            let _ = writeln!(err, "sh: {other}: not found");
            127
        }
    };
    let _ = out.flush();
    Flow::Continue(status)
}

/// The rows and columns of the terminal on stdin, if it is one.
fn terminal_size() -> Option<(u16, u16)> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the pointer, which points at one.
    let done = unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut size) };
    (done == 0).then_some((size.ws_row, size.ws_col))
}

/// Runs every command of `line`; stops at `exit`.
pub fn run_line(line: &str, stdin: &mut dyn Read, out: &mut dyn Write, err: &mut dyn Write) -> Flow {
    let commands = match parse(line) {
        Ok(commands) => commands,
        Err(e) => {
            let _ = writeln!(err, "sh: {e}");
            return Flow::Continue(2);
        }
    };
    let mut last = Flow::Continue(0);
    for command in commands {
        last = match &command.redirect {
            None => run_command(&command.words, stdin, out, err),
            Some(redirect) => match open_redirect(redirect) {
                Ok(mut file) => run_command(&command.words, stdin, &mut file, err),
                Err(e) => {
                    let _ = writeln!(err, "sh: {}: {e}", redirect.path);
                    Flow::Continue(1)
                }
            },
        };
        if matches!(last, Flow::Exit(_)) {
            break;
        }
    }
    last
}

/// The file a redirection writes to: created if missing, emptied first unless `>>`.
fn open_redirect(redirect: &Redirect) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(redirect.append)
        .truncate(!redirect.append)
        .open(&redirect.path)
}

/// `kubelab-demo sh`: the exit status.
pub fn run(args: ShArgs) -> u8 {
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    if let Some(script) = args.script {
        return match run_line(&script, &mut std::io::stdin(), &mut out, &mut err) {
            Flow::Continue(code) | Flow::Exit(code) => code,
        };
    }
    let interactive = std::io::stdin().is_terminal();
    let mut status = 0;
    let mut lines = std::io::stdin().lock();
    loop {
        if interactive {
            let _ = write!(out, "$ ");
            let _ = out.flush();
        }
        let mut line = String::new();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => return status,
            Ok(_) => {}
        }
        // Commands read lines too (`cat`): give them what follows on stdin.
        match run_line(&line, &mut lines, &mut out, &mut err) {
            Flow::Continue(code) => status = code,
            Flow::Exit(code) => return code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    fn plain(list: &[&str]) -> Command {
        Command {
            words: words(list),
            redirect: None,
        }
    }

    #[test]
    fn commands_split_on_semicolons_and_quotes_hold_words_together() {
        assert_eq!(
            parse("echo hi; exit 3").unwrap(),
            vec![plain(&["echo", "hi"]), plain(&["exit", "3"])]
        );
        assert_eq!(
            parse("echo 'a  b' \"c;d\"x ''\n").unwrap(),
            vec![plain(&["echo", "a  b", "c;dx", ""])]
        );
        assert_eq!(parse(" ; ;").unwrap(), Vec::<Command>::new());
        assert!(parse("echo 'open").is_err());
    }

    #[test]
    fn redirections_take_the_next_word_unless_quoted() {
        assert_eq!(
            parse("echo a b>/data/x").unwrap(),
            vec![Command {
                words: words(&["echo", "a", "b"]),
                redirect: Some(Redirect {
                    path: "/data/x".into(),
                    append: false
                }),
            }]
        );
        assert_eq!(
            parse("echo a >> 'my file'; echo '>'").unwrap(),
            vec![
                Command {
                    words: words(&["echo", "a"]),
                    redirect: Some(Redirect {
                        path: "my file".into(),
                        append: true
                    }),
                },
                plain(&["echo", ">"]),
            ]
        );
        for bad in ["echo >", "echo > ; x", "> f", "echo > a > b", "echo > > f"] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn output_goes_to_files_and_cat_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("note");
        let f = file.to_string_lossy();
        let run = |script: &str| {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let flow = run_line(script, &mut "".as_bytes(), &mut out, &mut err);
            (flow, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
        };
        assert_eq!(
            run(&format!("echo one > {f}")),
            (Flow::Continue(0), "".into(), "".into())
        );
        assert_eq!(run(&format!("echo two >> {f}")).0, Flow::Continue(0));
        assert_eq!(
            run(&format!("cat {f}")),
            (Flow::Continue(0), "one\ntwo\n".into(), "".into())
        );
        assert_eq!(run(&format!("echo three > {f}; cat {f}")).1, "three\n");
        let (flow, out, err) = run(&format!("cat {f} {f}.missing"));
        assert_eq!((flow, out.as_str()), (Flow::Continue(1), "three\n"));
        assert!(err.contains("note.missing"), "{err}");
        let (flow, _, err) = run(&format!("echo x > {}/no/such/dir/f", dir.path().display()));
        assert_eq!(flow, Flow::Continue(1));
        assert!(err.contains("no/such/dir"), "{err}");
    }

    #[test]
    fn scripts_run_until_exit() {
        let run = |script: &str, input: &str| {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let flow = run_line(script, &mut input.as_bytes(), &mut out, &mut err);
            (flow, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
        };
        assert_eq!(
            run("echo hi; exit 3; echo never", ""),
            (Flow::Exit(3), "hi\n".into(), "".into())
        );
        assert_eq!(run("cat", "piped\n"), (Flow::Continue(0), "piped\n".into(), "".into()));
        assert_eq!(
            run("frobnicate", ""),
            (Flow::Continue(127), "".into(), "sh: frobnicate: not found\n".into())
        );
        assert_eq!(run("false", "").0, Flow::Continue(1));
        assert_eq!(run("exit nope", "").0, Flow::Exit(2));
        assert_eq!(run("exit", "").0, Flow::Exit(0));
    }
}
