//! The README, followed line by line as a new user would: every ```console
//! block is run, in the order the README gives, in a copy of the clone's
//! files, against the real binary, and what each command prints is compared
//! with what the README shows under it.
//!
//! The README's console blocks read like a terminal session:
//! - `$ command` is run by bash (a trailing `\` continues it on the next line);
//! - the lines below it, up to the next command, are what it prints
//!   (standard output and error together, blank lines and trailing blanks
//!   left out), where `[..]`
//!   stands for any text within a line and a line `...` for any lines
//!   (snapbox's patterns); a command shown with no output is only required to
//!   succeed, and one whose output shows `error:` to fail;
//! - `# …` lines are the README talking to the reader, not output;
//! - `$ disclosure-ledger serve …` is the service in a terminal of its own:
//!   the test starts it in the background (stopping the one before, as a
//!   reader would with Ctrl-C) and waits until it answers.
//!
//! `WALKTHROUGH_PRINT=1 cargo test --test walkthrough -- --nocapture` prints
//! what every command printed, to write the README's outputs from.
//!
//! The one liberty taken: the service listens on a free port rather than
//! 50051 (which the machine may already use), so `127.0.0.1:50051` in a
//! command becomes that port, and `DISCLOSURE_SERVER`/`DISCLOSURE_LISTEN`
//! say it to the commands that use the default.
//!
//! Blocks marked ```sh are not run (a client needing its own toolchain,
//! a stream that never ends, a damaged store); the README says why where it
//! matters.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One command of a console block, with what the README says it prints.
#[derive(Debug)]
struct Step {
    /// The README's line number of the command (1-based), for messages.
    line: usize,
    command: String,
    expected: Vec<String>,
}

impl Step {
    fn must_fail(&self) -> bool {
        self.expected.iter().any(|l| l.starts_with("error:"))
    }
}

/// Every command of every console block, in the README's order.
fn steps(readme: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut in_block = false;
    let mut continuing = false;
    for (i, line) in readme.lines().enumerate() {
        if !in_block {
            in_block = line.trim_end() == "```console";
            continue;
        }
        if line.starts_with("```") {
            in_block = false;
            continue;
        }
        if continuing {
            let step = steps.last_mut().expect("a continued command");
            step.command.push('\n');
            step.command.push_str(line);
            continuing = unfinished(&step.command);
        } else if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step { line: i + 1, command: command.to_owned(), expected: Vec::new() });
            continuing = unfinished(command);
        } else if line.starts_with('#') || line.trim().is_empty() {
            // the README's own words, or spacing
        } else {
            let step = steps.last_mut().unwrap_or_else(|| panic!("README line {}: output before any command", i + 1));
            step.expected.push(line.to_owned());
        }
    }
    assert!(!in_block, "the README ends inside a console block");
    steps
}

/// Whether bash would read another line for this command: it ends with a
/// backslash, or a quote is still open (a JSON body over several lines).
fn unfinished(command: &str) -> bool {
    let (mut single, mut double, mut escaped, mut comment) = (false, false, false, false);
    let mut after_space = true;
    for c in command.chars() {
        match c {
            '\n' => comment = false,
            _ if comment => {}
            _ if escaped => escaped = false,
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            // a comment (the README's words after a command) may hold an apostrophe
            '#' if !single && !double && after_space => comment = true,
            _ => {}
        }
        after_space = c.is_whitespace();
    }
    single || double || command.ends_with('\\')
}

/// The bash session that runs the steps: each command's output followed by
/// a record-separator line with its number and exit status.
fn script(steps: &[Step], port: u16) -> String {
    let mut s = String::from(
        r#"set +e
__pid=
__serve() {
  if [ -n "$__pid" ]; then kill -TERM "$__pid"; wait "$__pid"; fi
  disclosure-ledger serve "$@" >>"$__SERVE_LOG" 2>&1 </dev/null &
  __pid=$!
  for _ in $(seq 600); do
    if disclosure-ledger health >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$__pid" 2>/dev/null; then echo "the service exited:"; tail -20 "$__SERVE_LOG"; __pid=; return 1; fi
    sleep 0.1
  done
  echo "the service did not answer within a minute"; return 1
}
trap 'if [ -n "$__pid" ]; then kill -TERM "$__pid"; wait "$__pid"; fi' EXIT
"#,
    );
    for (n, step) in steps.iter().enumerate() {
        let command = step.command.replace("127.0.0.1:50051", &format!("127.0.0.1:{port}"));
        let command = match command.strip_prefix("disclosure-ledger serve") {
            Some(rest) => format!("__serve{rest}"),
            None => command,
        };
        writeln!(s, "{{\n{command}\n}} </dev/null 2>&1\nprintf '\\036%d %d\\n' {n} $?").unwrap();
    }
    s
}

fn copy_tracked_files(from: &Path, to: &Path) {
    let listed = Command::new("git").args(["ls-files", "-z"]).current_dir(from).output().expect("git ls-files");
    assert!(listed.status.success(), "git ls-files: {}", String::from_utf8_lossy(&listed.stderr));
    for name in listed.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = std::str::from_utf8(name).unwrap();
        let source = from.join(name);
        // a file deleted in the work tree but not yet in git
        if !source.is_file() {
            continue;
        }
        let target = to.join(name);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&source, &target).unwrap();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_readme_runs_line_by_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let steps = steps(&readme);
    assert!(steps.len() >= 40, "the README's console blocks hold {} commands", steps.len());

    // A fresh clone: the tracked files, and the binary on PATH as `cargo
    // install` puts it.
    let work = tempfile::tempdir().unwrap();
    let clone = work.path().join("clone");
    copy_tracked_files(root, &clone);
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_disclosure-ledger"), bin.join("disclosure-ledger")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let serve_log = work.path().join("serve.log");

    let port = free_port();
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(script(&steps, port))
        .current_dir(&clone)
        .env_clear()
        .env("PATH", path)
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("LANG", "C.UTF-8")
        .envs(std::env::vars().filter(|(k, _)| k.starts_with("PYENV_")))
        .env("DISCLOSURE_SERVER", format!("http://127.0.0.1:{port}"))
        .env("DISCLOSURE_LISTEN", format!("127.0.0.1:{port}"))
        .env("DISCLOSURE_METRICS_LISTEN", "off")
        .env("__SERVE_LOG", &serve_log)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        out.read_to_string(&mut text).map(|_| text)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            panic!("the walk-through took more than 10 minutes; the service's log:\n{}", tail(&serve_log));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = reader.join().unwrap().expect("the session's output is UTF-8");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "the session ended {status}: {stderr}");

    let mut failures = Vec::new();
    let mut ran = 0;
    let mut rest = output.as_str();
    let assert = snapbox::Assert::new().normalize_paths(false);
    for (n, step) in steps.iter().enumerate() {
        let Some((printed, after)) = rest.split_once('\u{1e}') else {
            failures.push(format!("README line {}: `{}` never finished", step.line, step.command));
            break;
        };
        let (marker, after) = after.split_once('\n').unwrap();
        rest = after;
        let (number, code) = marker.split_once(' ').unwrap();
        assert_eq!(number.parse::<usize>().unwrap(), n, "steps out of step");
        let code: i32 = code.parse().unwrap();
        ran += 1;
        // What a terminal shows: blank lines and trailing tabs are not seen.
        let printed: String =
            printed.lines().map(str::trim_end).filter(|l| !l.is_empty()).map(|l| format!("{l}\n")).collect();
        let what = format!("README line {}: `{}`", step.line, step.command.lines().next().unwrap());
        if std::env::var_os("WALKTHROUGH_PRINT").is_some() {
            eprintln!("{what} exited {code}:\n{printed}");
        }
        if step.must_fail() == (code == 0) {
            failures.push(format!(
                "{what} exited {code}, and the README shows it {}:\n{printed}",
                if step.must_fail() { "failing" } else { "succeeding" }
            ));
            continue;
        }
        if step.expected.is_empty() {
            continue;
        }
        let expected: String = step.expected.iter().map(|l| format!("{l}\n")).collect();
        if let Err(e) = assert.try_eq(Some(&what), printed.into(), expected.into()) {
            failures.push(format!("{what} printed other than the README shows:\n{e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} README commands differ from the README:\n\n{}\n\nthe service's log ends:\n{}",
        failures.len(),
        failures.join("\n\n"),
        tail(&serve_log)
    );
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
