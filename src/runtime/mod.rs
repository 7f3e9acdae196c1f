//! What runs: the UI loop — receive events, reduce them into state, redraw at most once per
//! frame and only when something changed; it never awaits network I/O, only its channel — and
//! the router that hands the reducer's effects to the services.

mod router;

pub use router::Router;

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::app::{AppState, Effect};
use crate::services::AppEvent;
use crate::services::collect::SupervisorCommand;
use crate::theme::Theme;

/// Loop settings.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Upper bound of redraws per second.
    pub max_fps: u32,
}

/// What the loop did, for tests and the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopStats {
    pub frames: u64,
    pub events: u64,
}

/// Carries out the reducer's effects (other than quitting, which the loop handles).
pub trait EffectHandler {
    /// Performs one effect; `state` is the state right after the reducer produced it.
    fn handle(&mut self, effect: Effect, state: &AppState);
}

/// The configured instances' collectors only: `Reconnect` reaches the instance's supervisor; other effects are ignored.
impl EffectHandler for Vec<mpsc::Sender<SupervisorCommand>> {
    fn handle(&mut self, effect: Effect, _state: &AppState) {
        if let Effect::Reconnect(i) = effect
            && let Some(tx) = self.get(i)
        {
            // A full queue already holds a reconnect request.
            let _ = tx.try_send(SupervisorCommand::Reconnect);
        }
    }
}

/// Runs the loop until quit, a shutdown event, or the channel closing.
pub async fn run_event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    state: &mut AppState,
    theme: &Theme,
    events: &mut mpsc::Receiver<AppEvent>,
    effects: &mut dyn EffectHandler,
    options: RunOptions,
) -> Result<LoopStats, B::Error> {
    let frame = Duration::from_secs_f64(1.0 / f64::from(options.max_fps.max(1)));
    let mut stats = LoopStats::default();
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    loop {
        if dirty {
            let due = last_draw.map_or_else(Instant::now, |t| t + frame);
            if Instant::now() >= due {
                terminal.draw(|f| crate::ui::draw(f, state, theme))?;
                stats.frames += 1;
                last_draw = Some(Instant::now());
                dirty = false;
                continue;
            }
            // Something changed but the last frame was too recent: gather more events until due.
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => dirty |= handle(state, ev, effects, &mut stats),
                    None => break,
                },
                _ = tokio::time::sleep_until(due) => {}
            }
        } else {
            match events.recv().await {
                Some(ev) => dirty |= handle(state, ev, effects, &mut stats),
                None => break,
            }
        }
        // Drain whatever else is queued so that one frame shows all of it.
        while let Ok(ev) = events.try_recv() {
            dirty |= handle(state, ev, effects, &mut stats);
            if state.quit {
                break;
            }
        }
        if state.quit {
            break;
        }
    }
    Ok(stats)
}

fn handle(
    state: &mut AppState,
    event: AppEvent,
    handler: &mut dyn EffectHandler,
    stats: &mut LoopStats,
) -> bool {
    stats.events += 1;
    let (dirty, effects) = state.handle_event(event);
    for effect in effects {
        match effect {
            Effect::Quit => state.quit = true,
            other => handler.handle(other, state),
        }
    }
    dirty
}
