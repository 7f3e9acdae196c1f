//! The terminal lifecycle, in one place: enter raw mode and the alternate screen, restore
//! them on every exit path — normal return, error, signal, and panics in any thread or task.

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use color_eyre::config::HookBuilder;
use crossterm::cursor::Show;
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The real terminal.
pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Whether this process has the terminal in raw mode and the alternate screen now: the panic
/// hook restores it only then, so a panicking command-line run writes no escape codes into
/// the output a script reads.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Enters raw mode and the alternate screen; on failure the terminal is restored first.
pub fn init() -> io::Result<Tui> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let setup = || -> io::Result<Tui> {
        execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste)?;
        let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        // No `terminal.clear()`: it queries the cursor position, which a terminal that does
        // not answer would turn into a start-up failure; the alternate screen starts empty.
        terminal.hide_cursor()?;
        Ok(terminal)
    };
    setup().inspect_err(|_| {
        let _ = restore();
    })
}

/// Leaves the alternate screen and raw mode; safe to call more than once.
pub fn restore() -> io::Result<()> {
    ACTIVE.store(false, Ordering::SeqCst);
    let screen = execute!(
        io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        Show
    );
    let raw = disable_raw_mode();
    screen.and(raw)
}

/// Installs color-eyre's report hook and a panic hook that restores the terminal first (when
/// the TUI has it), prints the report, and exits with code 101 — also when the panic happens
/// inside a spawned task, which tokio would otherwise swallow (the process could then end with
/// code 0 and a script would believe it succeeded). Every command installs it.
///
/// Reports are coloured only on a terminal and without `NO_COLOR` (<https://no-color.org>). A
/// panic from printing into a closed pipe (`kubestack-ai health | head -1`) is no bug: the
/// process ends quietly with code 0, as a reader that stopped reading expects.
pub fn install_hooks() -> color_eyre::Result<()> {
    let theme = if colour_allowed(io::IsTerminal::is_terminal(&io::stderr())) {
        color_eyre::config::Theme::dark()
    } else {
        color_eyre::config::Theme::new()
    };
    let (panic_hook, eyre_hook) = HookBuilder::default()
        .theme(theme)
        .panic_section(
            "This is a bug in KubeStack-AI; the log file (see `kubestack-ai info`) has details.",
        )
        .into_hooks();
    eyre_hook.install()?;
    let panic_hook = panic_hook.into_panic_hook();
    std::panic::set_hook(Box::new(move |info| {
        if ACTIVE.load(Ordering::SeqCst) {
            let _ = restore();
        }
        if is_closed_pipe(info) {
            std::process::exit(0);
        }
        tracing::error!("panic: {info}");
        panic_hook(info);
        std::process::exit(101);
    }));
    Ok(())
}

/// Whether output may be coloured: on a terminal, and `NO_COLOR` unset or empty.
pub fn colour_allowed(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether a panic is `println!` failing on a pipe whose reader is gone.
fn is_closed_pipe(info: &std::panic::PanicHookInfo<'_>) -> bool {
    let payload = info
        .payload()
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| info.payload().downcast_ref::<&str>().copied())
        .unwrap_or("");
    payload.starts_with("failed printing to stdout") && payload.contains("Broken pipe")
}

/// Puts text on the clipboard of the terminal (also over SSH and in tmux) with OSC 52.
pub fn copy_osc52(text: &str) {
    use base64::Engine as _;
    use std::io::Write as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout();
    let _ = write!(out, "\x1b]52;c;{encoded}\x07");
    let _ = out.flush();
}
