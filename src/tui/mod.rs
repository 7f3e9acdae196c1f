//! The terminal lifecycle, in one place: enter raw mode and the alternate screen, restore
//! them on every exit path — normal return, error, signal, and panics in any thread or task.

use std::io::{self, Stdout};

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

/// Enters raw mode and the alternate screen; on failure the terminal is restored first.
pub fn init() -> io::Result<Tui> {
    enable_raw_mode()?;
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
    let screen = execute!(
        io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        Show
    );
    let raw = disable_raw_mode();
    screen.and(raw)
}

/// Installs color-eyre's report hook and a panic hook that restores the terminal first,
/// prints the report, and exits — also when the panic happens inside a spawned task, which
/// tokio would otherwise swallow while the screen stays in raw mode.
pub fn install_hooks() -> color_eyre::Result<()> {
    let (panic_hook, eyre_hook) = HookBuilder::default()
        .panic_section(
            "This is a bug in KubeStack-AI; the log file (see `kubestack-ai info`) has details.",
        )
        .into_hooks();
    eyre_hook.install()?;
    let panic_hook = panic_hook.into_panic_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = restore();
        tracing::error!("panic: {info}");
        panic_hook(info);
        std::process::exit(101);
    }));
    Ok(())
}
